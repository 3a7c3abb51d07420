// The device bench page (serve --device-bench): times each front student in this browser with TF.js's wasm
// backend (loaded from the report, never a CDN) and posts the timings with the page's token.
(function () {
  'use strict';
  const data = JSON.parse(document.getElementById('device-data').textContent);
  const status = document.getElementById('status');
  const button = document.getElementById('run');
  const nameInput = document.getElementById('device-name');
  const body = document.querySelector('#timings tbody');
  const WARMUP = 20;
  // Browsers round performance.now() (Chromium to 0.1 ms without cross-origin isolation): each sample times
  // REPS predictions in a row and takes their mean, so sub-millisecond students are resolved.
  const REPS = 10;
  const say = (text) => { status.textContent = text; };
  const quantile = (sorted, q) => {
    const pos = (sorted.length - 1) * q;
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
  };
  const row = (student, stats) => {
    const tr = document.createElement('tr');
    const cells = [student.number, student.arch, student.searchMs === null ? '—' : student.searchMs.toFixed(3)];
    if (stats) cells.push(stats.medianMs.toFixed(3), stats.p10Ms.toFixed(3), stats.p90Ms.toFixed(3));
    for (const c of cells) {
      const td = document.createElement('td');
      td.textContent = String(c);
      tr.appendChild(td);
    }
    return tr;
  };

  async function time(student) {
    const model = await tf.loadLayersModel(`/experiments/${encodeURIComponent(data.experiment)}/trials/${student.number}/model.json`);
    const input = tf.zeros([1, ...data.inputShape]);
    const once = async () => {
      const out = model.predict(input);
      await out.data();
      out.dispose();
    };
    try {
      for (let i = 0; i < WARMUP; i++) await once();
      const times = [];
      for (let i = 0; i < data.runs; i++) {
        const start = performance.now();
        for (let r = 0; r < REPS; r++) await once();
        times.push((performance.now() - start) / REPS);
      }
      times.sort((a, b) => a - b);
      // A browser may round performance.now(); a time of 0 is no measurement.
      const floor = (v) => Math.max(v, 0.001);
      return { trial: student.number, medianMs: floor(quantile(times, 0.5)), p10Ms: floor(quantile(times, 0.1)), p90Ms: floor(quantile(times, 0.9)), runs: times.length * REPS };
    } finally {
      input.dispose();
      model.dispose();
    }
  }

  async function run() {
    const name = nameInput.value.trim();
    if (!name) {
      say('give this device a name first');
      return;
    }
    button.disabled = true;
    body.textContent = '';
    const timings = [];
    for (const [i, student] of data.students.entries()) {
      say(`timing student ${i + 1} of ${data.students.length} (trial ${student.number})…`);
      const stats = await time(student);
      timings.push(stats);
      body.appendChild(row(student, stats));
    }
    say('posting…');
    const res = await fetch(`/experiments/${encodeURIComponent(data.experiment)}/device-timings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-Device-Token': data.token },
      body: JSON.stringify({ device: { name }, timings }),
    });
    const answer = await res.json();
    say(res.ok ? `posted: ${answer.timings} timings as device ${answer.device} (${name})` : `the report refused the timings (${res.status}): ${answer.error}`);
    button.disabled = false;
  }

  (async () => {
    try {
      tf.wasm.setWasmPaths('/vendor/wasm/');
      await tf.setBackend('wasm');
      await tf.ready();
      say(`TF.js ${tf.version_core} on ${tf.getBackend()}: ${data.students.length} students to time`);
      for (const s of data.students) body.appendChild(row(s));
      button.disabled = false;
      button.addEventListener('click', () => run().catch((err) => { say(`failed: ${err.message}`); button.disabled = false; }));
    } catch (err) {
      say(`TF.js could not start its wasm backend here: ${err.message}`);
    }
  })();
})();
