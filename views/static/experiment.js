/*
 * The experiment page: Pareto scatter, hypervolume curve, trial table; refreshes itself while the search runs.
 * It only draws: front membership, the staircases, labels and directions come computed in the page's data
 * (src/web/view-models.ts).
 */
(function () {
  'use strict';
  let data = JSON.parse(document.getElementById('experiment-data').textContent);
  const settings = JSON.parse(document.getElementById('chart-settings').textContent);
  let table = JSON.parse(document.getElementById('table-data').textContent);
  const base = '/experiments/' + encodeURIComponent(data.experiment.name);
  // Latencies as a device measured them (serve --device-bench): every later fetch asks for the same device.
  const deviceParam = data.device ? '&device=' + data.device.id : '';
  const metric = (key) => data.metrics.find((m) => m.key === key);
  const fmt = (m, v) => (v === null || v === undefined ? '—' : m === 'accuracy' ? (v * 100).toFixed(2) + '%' : m === 'latencyMs' ? v.toFixed(3) + ' ms' : Math.round(v).toLocaleString('en'));

  // Viridis-like ramp for the third objective; "better" is always the dark end.
  const RAMP = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  function ramp(t) {
    const x = Math.max(0, Math.min(1, t)) * (RAMP.length - 1);
    const i = Math.min(RAMP.length - 2, Math.floor(x));
    const f = x - i;
    const c = RAMP[i].map((v, k) => Math.round(v + (RAMP[i + 1][k] - v) * f));
    return 'rgb(' + c.join(',') + ')';
  }

  function value(t, m) {
    return t[m];
  }

  function points() {
    const { x, y, c, enc } = settings;
    const complete = data.front.concat(data.dominated).filter((t) => value(t, x) !== null && value(t, y) !== null);
    const cs = complete.map((t) => value(t, c)).filter((v) => v !== null);
    const lo = Math.min(...cs);
    const hi = Math.max(...cs);
    const norm = (v) => (hi > lo ? (v - lo) / (hi - lo) : 0.5);
    const good = (v) => (metric(c).maximised ? 1 - norm(v) : norm(v));
    const style = (t) => ({
      x: value(t, x),
      y: value(t, y),
      trial: t,
      colour: enc === 'colour' ? ramp(good(value(t, c))) : null,
      radius: enc === 'size' ? 3 + 9 * (1 - good(value(t, c))) : 5,
    });
    const front = complete.filter((t) => t.onFront).map(style).sort((a, b) => a.x - b.x);
    const dominated = complete.filter((t) => !t.onFront).map(style);
    const ys = complete.map((t) => value(t, y));
    const floor = ys.length ? Math.min(...ys) : 0;
    const failed = data.failed
      .filter((t) => value(t, x) !== null)
      .map((t) => ({ x: value(t, x), y: value(t, y) !== null ? value(t, y) : floor, trial: t }));
    // The front spans every objective; on two axes only part of it trades off: the server's staircase for this pair.
    const byKey = new Map(front.map((p) => [p.trial.key, p]));
    const curve = x === y ? [] : (data.staircases[x + '|' + y] || []).map((k) => byKey.get(k)).filter(Boolean);
    const teacher = data.teacher[x] !== undefined && data.teacher[y] !== undefined ? [{ x: data.teacher[x], y: data.teacher[y], teacher: true }] : [];
    return { front, curve, dominated, failed, teacher };
  }

  const frontColour = '#d9480f';
  function datasets() {
    const p = points();
    return [
      {
        label: 'trade-off on these axes',
        data: p.curve,
        showLine: true,
        stepped: metric(settings.y).maximised ? 'after' : 'before',
        borderColor: frontColour,
        backgroundColor: frontColour,
        borderWidth: 1.5,
        pointRadius: 0,
        pointHitRadius: 0,
        order: 4,
      },
      {
        label: 'front',
        data: p.front,
        borderColor: frontColour,
        backgroundColor: frontColour,
        pointBackgroundColor: p.front.map((d) => d.colour || frontColour),
        pointBorderColor: frontColour,
        pointBorderWidth: 2,
        pointRadius: p.front.map((d) => d.radius + 1),
        pointHoverRadius: p.front.map((d) => d.radius + 3),
        order: 1,
      },
      {
        label: 'dominated',
        data: p.dominated,
        pointBackgroundColor: p.dominated.map((d) => (d.colour || '#64748b').replace('rgb(', 'rgba(').replace(')', ',0.35)')),
        pointBorderColor: 'rgba(100,116,139,0.35)',
        backgroundColor: 'rgba(100,116,139,0.35)',
        borderColor: 'rgba(100,116,139,0.35)',
        pointRadius: p.dominated.map((d) => d.radius),
        pointHoverRadius: p.dominated.map((d) => d.radius + 2),
        order: 2,
      },
      { label: 'failed', data: p.failed, pointStyle: 'crossRot', pointRadius: 6, borderColor: 'rgba(185,28,28,0.45)', backgroundColor: 'rgba(185,28,28,0.45)', pointBorderWidth: 2, order: 3 },
      { label: 'teacher', data: p.teacher, pointStyle: 'star', pointRadius: 11, borderColor: '#111827', backgroundColor: '#111827', pointBorderWidth: 2, order: 0 },
    ];
  }

  function tooltipLines(d) {
    if (d.teacher) return ['teacher', 'accuracy ' + fmt('accuracy', data.teacher.accuracy), 'params ' + fmt('params', data.teacher.params), 'size ' + fmt('sizeBytes', data.teacher.sizeBytes), 'latency ' + fmt('latencyMs', data.teacher.latencyMs)];
    const t = d.trial;
    const name = t.exit === null ? 'trial ' + t.number : 'trial ' + t.number + ' exit ' + t.exit + ' (its first ' + t.exit + ' blocks)';
    const lines = [name + ' · ' + t.family + (t.onFront ? ' · on the front' : ''), t.arch];
    if (t.state === 'FAILED') return lines.concat(['FAILED: ' + (t.error || '').slice(0, 80)]);
    return lines.concat([
      'accuracy ' + fmt('accuracy', t.accuracy),
      'params ' + fmt('params', t.params) + ' · size ' + fmt('sizeBytes', t.sizeBytes),
      'latency ' + fmt('latencyMs', t.latencyMs) + ' · MACs ' + fmt('macs', t.macs),
      'T ' + t.temperature + ' · α ' + t.alpha + ' · ' + t.epochs + ' epochs · ' + t.scheme + (t.kdGain === null ? '' : ' · KD gain ' + (t.kdGain * 100).toFixed(2) + ' pts'),
    ]);
  }

  const logx = document.getElementById('logx');
  function axis(m, log) {
    return { type: log ? 'logarithmic' : 'linear', title: { display: true, text: metric(m).label + ' (' + metric(m).direction + ')' } };
  }

  const frontChart = new Chart(document.getElementById('front-chart'), {
    type: 'scatter',
    data: { datasets: datasets() },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: { x: axis(settings.x, logx.checked && settings.x !== 'accuracy'), y: axis(settings.y, false) },
      plugins: {
        legend: { position: 'top', labels: { usePointStyle: true } },
        tooltip: { callbacks: { label: (ctx) => tooltipLines(ctx.raw) } },
      },
      onClick: (_event, elements) => {
        const el = elements[0];
        if (!el) return;
        const d = frontChart.data.datasets[el.datasetIndex].data[el.index];
        if (d && d.trial) window.location.href = base + '/trials/' + d.trial.number + (d.trial.exit === null ? '' : '#exit-' + d.trial.exit);
      },
      onHover: (event, elements) => {
        event.native.target.style.cursor = elements.length ? 'pointer' : 'default';
      },
    },
  });

  const hvChart = new Chart(document.getElementById('hv-chart'), {
    type: 'line',
    data: { datasets: [{ label: 'hypervolume', data: [], borderColor: '#2563eb', pointRadius: 0, stepped: true }] },
    options: {
      animation: false,
      maintainAspectRatio: false,
      parsing: false,
      scales: { x: { type: 'linear', title: { display: true, text: 'trial' } }, y: { title: { display: true, text: 'hypervolume' } } },
      plugins: { legend: { display: false } },
    },
  });

  function redraw() {
    frontChart.data.datasets = datasets();
    frontChart.options.scales.x = axis(settings.x, logx.checked && settings.x !== 'accuracy');
    frontChart.options.scales.y = axis(settings.y, false);
    frontChart.update();
    hvChart.data.datasets[0].data = data.hypervolume.map((h) => ({ x: h.trial, y: h.hypervolume }));
    hvChart.update();
    const n = (v) => v.toLocaleString('en');
    document.getElementById('sampled').textContent =
      data.dominated.length < data.dominatedTotal || data.failed.length < data.failedTotal
        ? 'Drawn: ' + n(data.dominated.length) + ' of ' + n(data.dominatedTotal) + ' dominated and ' + n(data.failed.length) + ' of ' + n(data.failedTotal) + ' failed trials, evenly spaced by trial number; the table lists them all.'
        : '';
    const s = document.getElementById('status');
    s.textContent = data.experiment.status;
    s.className = 'state state-' + data.experiment.status;
    document.getElementById('counts').textContent =
      data.counts.COMPLETE + ' complete, ' + data.counts.FAILED + ' failed, ' + data.counts.RUNNING + ' running of ' + data.experiment.plannedTrials + ' planned';
  }

  for (const id of ['x', 'y', 'c', 'enc']) {
    document.getElementById(id).addEventListener('change', (e) => {
      settings[id] = e.target.value;
      history.replaceState(null, '', '?' + addressQuery(wanted).toString());
      redraw();
    });
  }
  logx.addEventListener('change', redraw);

  // ---- trial table: paged, sorted and filtered by the server; the address keeps its state ----
  const tableEl = document.getElementById('trials');
  const tbody = tableEl.querySelector('tbody');
  const COLUMNS = ['number', 'state', 'family', 'precision', 'arch', 'accuracy', 'params', 'sizeBytes', 'latencyMs', 'scheme', 'kdGain', 'alpha', 'temperature', 'seconds'];
  function cell(t, k) {
    // a paused or pruned trial shows the metrics of the last rung it reached, marked with that epoch
    if (k === 'accuracy') return fmt('accuracy', t.accuracy) + (t.rungEpoch ? ' @ epoch ' + t.rungEpoch : '');
    if (k === 'latencyMs') return t.latencyMs === null ? '—' : t.latencyMs.toFixed(3);
    if (k === 'params' || k === 'sizeBytes') return (t.state === 'COMPLETE' || t.rungEpoch ? '' : '~') + fmt(k, t[k]);
    if (k === 'kdGain') return t.kdGain === null ? '—' : (t.kdGain >= 0 ? '+' : '') + (t.kdGain * 100).toFixed(2);
    if (k === 'seconds') return t.seconds === null ? '—' : t.seconds.toFixed(1);
    return String(t[k]);
  }
  function renderTable() {
    tbody.replaceChildren(
      ...table.rows.map((t) => {
        const tr = document.createElement('tr');
        tr.className = 'clickable' + (t.onFront ? ' front' : '') + (t.state !== 'COMPLETE' || !t.onFront ? ' dim' : '');
        tr.title = t.error || '';
        for (const k of COLUMNS) {
          const td = document.createElement('td');
          td.textContent = cell(t, k); // textContent: database strings are never parsed as HTML
          tr.appendChild(td);
        }
        tr.addEventListener('click', () => (window.location.href = base + '/trials/' + t.number));
        return tr;
      }),
    );
    const q = table.query;
    for (const th of tableEl.querySelectorAll('th')) {
      th.classList.toggle('sorted-asc', th.dataset.key === q.sort && q.dir === 'asc');
      th.classList.toggle('sorted-desc', th.dataset.key === q.sort && q.dir === 'desc');
    }
    document.getElementById('page-info').textContent = 'page ' + q.page + ' of ' + table.pages + ' · ' + table.total.toLocaleString('en') + ' trials';
    document.getElementById('prev-page').disabled = q.page <= 1;
    document.getElementById('next-page').disabled = q.page >= table.pages;
  }
  function addressQuery(q) {
    const p = new URLSearchParams({ x: settings.x, y: settings.y, c: settings.c, enc: settings.enc });
    if (q.page > 1) p.set('page', String(q.page));
    if (q.sort !== 'number' || q.dir !== 'asc') {
      p.set('sort', q.sort);
      p.set('dir', q.dir);
    }
    if (q.state) p.set('state', q.state);
    if (q.q) p.set('q', q.q);
    if (q.front) p.set('front', '1');
    return p;
  }
  function tableParams(q) {
    const p = addressQuery(q);
    for (const k of ['x', 'y', 'c', 'enc']) p.delete(k);
    return p;
  }
  let asked = 0;
  // The query last asked for: changes made before an answer arrives build on it, not on the table shown.
  let wanted = table.query;
  async function loadTable(change) {
    const q = Object.assign({}, wanted, change);
    wanted = q;
    const mine = ++asked;
    history.replaceState(null, '', '?' + addressQuery(q).toString());
    const res = await fetch(base + '/trials.json?' + tableParams(q).toString() + deviceParam, { cache: 'no-store' });
    if (!res.ok || mine !== asked) return; // a later request has been made: its answer wins
    const answer = await res.json();
    if (mine !== asked) return;
    table = answer;
    wanted = table.query; // the server's answer: e.g. a page clamped to the last one
    renderTable();
  }
  for (const th of tableEl.querySelectorAll('th')) {
    th.addEventListener('click', () => {
      const key = th.dataset.key;
      const q = wanted;
      const dir = q.sort === key ? (q.dir === 'asc' ? 'desc' : 'asc') : th.dataset.type === 'number' && key !== 'number' ? 'desc' : 'asc';
      void loadTable({ sort: key, dir, page: 1 });
    });
  }
  document.getElementById('filter').addEventListener('input', (e) => void loadTable({ q: e.target.value, page: 1 }));
  document.getElementById('state-filter').addEventListener('input', (e) => void loadTable({ state: e.target.value || undefined, page: 1 }));
  document.getElementById('front-only').addEventListener('input', (e) => void loadTable({ front: e.target.checked, page: 1 }));
  document.getElementById('prev-page').addEventListener('click', () => void loadTable({ page: wanted.page - 1 }));
  document.getElementById('next-page').addEventListener('click', () => void loadTable({ page: wanted.page + 1 }));

  redraw();
  renderTable();

  // ---- live updates while the search runs: ask what changed since this page's version, redraw in place, no reload ----
  async function poll() {
    try {
      const res = await fetch(base + '/data.json?since=' + encodeURIComponent(data.version) + deviceParam, { cache: 'no-store' });
      if (res.ok) {
        const answer = await res.json();
        if (!answer.unchanged) {
          data = answer;
          redraw();
          await loadTable({});
        }
      }
    } catch (_) {
      /* the server may restart; try again next time */
    }
    if (data.experiment.status === 'running') setTimeout(poll, 3000);
  }
  if (data.experiment.status === 'running') setTimeout(poll, 3000);
})();
