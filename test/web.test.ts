import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { startServer } from '../src/web/server';
import { accuracy } from '../src/distill/evaluate';
import { toResident } from '../src/distill/resident';
import { Store } from '../src/store/store';
import { CLI, ROOT, standInSpace, tempDir, useWasm } from './support/helpers';
import { XSS_NAME, buildReportFixture } from './support/web-fixture';

let server: Awaited<ReturnType<typeof startServer>>;
let fixture: Awaited<ReturnType<typeof buildReportFixture>>;
const get = (path: string, init?: RequestInit) => fetch(server.url + path.replace(/^\//, ''), init);

before(async () => {
  await useWasm();
  fixture = await buildReportFixture();
  server = await startServer({ db: fixture.db, port: 0, host: '127.0.0.1' }, () => {});
});
after(async () => server?.close());

test('the report binds to 127.0.0.1 unless told otherwise', () => {
  const address = server.server.address();
  assert.equal(typeof address === 'object' && address?.address, '127.0.0.1');
});

test('experiments page lists each experiment with its counts', async () => {
  const res = await get('/');
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.match(html, /href="\/experiments\/demo">demo<\/a>/);
  assert.match(html, /<td>5 \/ 5<\/td>\s*<td>1<\/td>/, 'done / planned, then failed');
});

test('strings from the database are escaped: a <script> experiment name is text', async () => {
  for (const path of ['/', `/experiments/${encodeURIComponent(XSS_NAME)}`, `/experiments/${encodeURIComponent(XSS_NAME)}/trials/0`]) {
    const res = await get(path);
    assert.equal(res.status, 200, path);
    const html = await res.text();
    assert.ok(!html.includes('<script>alert(1)</script>'), `raw name in ${path}`);
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), `escaped name in ${path}`);
  }
  const data = await (await get(`/experiments/${encodeURIComponent(XSS_NAME)}`)).text();
  // The embedded JSON cannot close its <script> element either.
  assert.ok(!/<\/script>alert|alert\(1\)<\/script>/.test(data));
});

test('unknown experiments and trials are 404 pages, bad parameters 400, never a stack trace', async () => {
  const cases: Array<[string, number]> = [
    ['/experiments/nope', 404],
    ['/experiments/demo/trials/99', 404],
    ['/experiments/demo/trials/abc', 400],
    ['/experiments/demo/trials/-1', 400],
    ['/experiments/demo?x=bogus', 400],
    ['/experiments/demo?unexpected=1', 400],
    ['/experiments/demo/trials/4/model.json', 404], // FAILED: no weights
    ['/nothing/here', 404],
  ];
  for (const [path, status] of cases) {
    const res = await get(path);
    assert.equal(res.status, status, path);
    const body = await res.text();
    assert.ok(!/\bat .+\.js:\d+/.test(body), `no stack trace in ${path}`);
  }
});

test('no endpoint writes: other methods are refused and the database is unchanged', async () => {
  const store = Store.open(fixture.db, { readonly: true });
  const before = JSON.stringify(store.listExperiments());
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
    const res = await get('/experiments/demo', { method });
    assert.equal(res.status, 405, method);
  }
  assert.equal(JSON.stringify(store.listExperiments()), before);
  store.close();
});

test('download paths cannot reach files outside the experiment data', async () => {
  for (const path of [
    '/experiments/demo/trials/0/..%2f..%2f..%2f..%2fpackage.json',
    '/experiments/demo/trials/0%2f..%2f..%2fpackage.json/model.json',
    '/static/..%2f..%2fpackage.json',
    '/static/%2e%2e/%2e%2e/package.json',
    '/vendor/..%2fpackage.json',
  ]) {
    const res = await get(path);
    const body = await res.text();
    assert.notEqual(res.status, 200, path);
    assert.ok(!body.includes('"name": "kdsearch"') && !body.includes('"allowScripts"'), path);
  }
});

test('a downloaded student loads with tf.loadLayersModel and scores its stored accuracy, at every precision', async () => {
  const store = Store.open(fixture.db, { readonly: true });
  const exp = store.getExperiment('demo');
  const test = toResident(fixture.dataset.test, fixture.dataset.inputShape);
  try {
    for (const number of [0, 1, 2, 3]) {
      const detail = store.trialDetail(exp, number)!;
      const model = await tf.loadLayersModel(`${server.url}experiments/demo/trials/${number}/model.json`);
      const manifest = (await (await get(`/experiments/demo/trials/${number}/model.json`)).json()) as { weightsManifest: Array<{ weights: Array<{ quantization?: { dtype: string } }> }> };
      const quantizations = manifest.weightsManifest[0].weights.map((w) => w.quantization?.dtype ?? 'none');
      const precision = detail.candidate.student.precision;
      if (precision === 'float16') assert.ok(quantizations.every((q) => q === 'float16'), 'float16 in the manifest');
      if (precision === 'int8' && detail.candidate.student.quantization === 'per-tensor') assert.ok(quantizations.every((q) => q === 'uint8'), 'uint8 in the manifest');
      const acc = await accuracy(model, test.x, test.y);
      assert.equal(acc, detail.metrics!.accuracy, `trial ${number} (${precision})`);
      model.dispose();
    }
    const weights = await get('/experiments/demo/trials/1/weights.bin');
    const m = store.trialDetail(exp, 1)!.metrics!;
    // int8 per-tensor: one byte per weight, scale and min in the manifest.
    assert.equal((await weights.arrayBuffer()).byteLength, m.params);
  } finally {
    tf.dispose([test.x, test.y]);
    store.close();
  }
});

test('a student downloaded as .onnx (or written by kdsearch export) runs in onnxruntime and scores its stored accuracy, at every precision', async () => {
  const store = Store.open(fixture.db, { readonly: true });
  const exp = store.getExperiment('demo');
  const { x, y, n } = fixture.dataset.test;
  try {
    for (const number of [0, 1, 2, 3]) {
      const detail = store.trialDetail(exp, number)!;
      const res = await get(`/experiments/demo/trials/${number}/model.onnx`);
      assert.equal(res.status, 200);
      const session = await ort.InferenceSession.create(new Uint8Array(await res.arrayBuffer()), { graphOptimizationLevel: 'basic' });
      const out = (await session.run({ input: new ort.Tensor('float32', x, [n, ...fixture.dataset.inputShape]) })).logits.data as Float32Array;
      await session.release();
      let right = 0;
      for (let r = 0; r < n; r++) {
        let best = 0;
        for (let k = 1; k < 10; k++) if (out[r * 10 + k] > out[r * 10 + best]) best = k;
        if (best === y[r]) right++;
      }
      // The same weights in another runtime: top-1 may differ on a knife-edge sample or two, never more than 0.5% of them.
      assert.ok(Math.abs(right / n - detail.metrics!.accuracy) <= 0.005, `trial ${number} (${detail.candidate.student.precision}): ${right / n} vs ${detail.metrics!.accuracy}`);
    }
  } finally {
    store.close();
  }
  const out = join(tempDir(), 'export');
  for (const [format, files] of [['onnx', ['model.onnx']], ['tfjs', ['model.json', 'weights.bin']]] as const) {
    const r = spawnSync(process.execPath, [CLI, 'export', 'demo', '--trial', '1', '--format', format, '--out', join(out, format), '--db', fixture.db, '--json'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).files, files.map((f) => join(out, format, f)));
    for (const f of files) assert.ok(existsSync(join(out, format, f)));
  }
  const failed = spawnSync(process.execPath, [CLI, 'export', 'demo', '--trial', '4', '--db', fixture.db], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(failed.status, 2);
  assert.match(failed.stderr, /trial is FAILED and has no stored weights/);
});

test('the report reads while a search writes: never "database is locked"', async () => {
  const dir = tempDir();
  const space = await standInSpace(dir);
  const child = spawn(process.execPath, [CLI, 'search', '--space', space, '--name', 'live', '--trials', '6', '--workers', '2', '--db', fixture.db, '--data-dir', join(dir, 'data')], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let running = true;
  void exited.then(() => (running = false));
  let requests = 0;
  const statuses = new Map<number, number>();
  while (running || requests < 50) {
    const path = requests % 3 === 0 ? '/' : requests % 3 === 1 ? '/experiments/live/data.json' : '/experiments/demo';
    const res = await get(path);
    const body = await res.text();
    assert.ok(!/locked/i.test(body), `${path}: ${body.slice(0, 200)}`);
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    requests++;
  }
  assert.equal(await exited, 0, stderr);
  assert.deepEqual([...statuses.keys()].filter((s) => s !== 200 && s !== 404), [], `statuses ${[...statuses]}`);
  assert.ok((statuses.get(200) ?? 0) > 20);
  assert.ok(!/locked/i.test(stderr));
});

test('the page data carries the front and, for every pair of axes, the staircase of members that trade off on them', async () => {
  const data = (await (await get('/experiments/demo/data.json')).json()) as {
    metrics: Array<{ key: string; label: string; maximised: boolean; direction: string }>;
    states: string[];
    front: Array<Record<string, number | string | boolean | null> & { number: number; key: string; onFront: boolean }>;
    dominated: Array<Record<string, number | string | boolean | null> & { number: number; key: string; onFront: boolean }>;
    staircases: Record<string, string[]>;
  };
  const all = (await (await get('/experiments/demo/trials.json')).json()) as { rows: typeof data.front; total: number };
  assert.equal(all.total, 5);
  assert.deepEqual(
    data.front.map((t) => t.number),
    all.rows.filter((t) => t.onFront).map((t) => t.number),
    "the plot's front is the table's",
  );
  assert.ok(data.front.every((t) => t.onFront) && data.dominated.every((t) => !t.onFront));
  assert.deepEqual(data.states, ['WAITING', 'RUNNING', 'PAUSED', 'COMPLETE', 'FAILED', 'PRUNED']);
  assert.deepEqual(data.metrics.find((m) => m.key === 'accuracy'), { key: 'accuracy', label: 'accuracy', maximised: true, direction: 'higher is better' });
  const keys = data.metrics.map((m) => m.key);
  assert.equal(Object.keys(data.staircases).length, keys.length * (keys.length - 1));
  assert.ok([...data.front, ...data.dominated].every((t) => t.key === String(t.number)), 'points keyed by trial number (no exits here)');
  const trial = new Map([...data.front, ...data.dominated].map((t) => [t.key, t]));
  const better = (m: string, a: number, b: number) => (m === 'accuracy' ? a > b : a < b);
  for (const x of keys) {
    for (const y of keys) {
      if (x === y) continue;
      const stair = data.staircases[`${x}|${y}`];
      const front = data.front;
      assert.ok(stair.length >= 1 && stair.every((n) => trial.get(n)!.onFront), `${x}|${y}: members of the front`);
      const v = (k: string, m: string) => trial.get(k)![m] as number;
      for (let i = 1; i < stair.length; i++) assert.ok(v(stair[i - 1], x) <= v(stair[i], x), `${x}|${y}: ordered by x`);
      // Exactly the front members no other member beats on both axes.
      const expected = front
        .filter((p) => !front.some((q) => q !== p && !better(x, v(p.key, x), v(q.key, x)) && !better(y, v(p.key, y), v(q.key, y)) && (better(x, v(q.key, x), v(p.key, x)) || better(y, v(q.key, y), v(p.key, y)))))
        .map((t) => t.key)
        .sort();
      assert.deepEqual([...stair].sort(), expected, `${x}|${y}`);
    }
  }
});

test('the experiment list is read in a constant number of queries, however many experiments', async () => {
  const { createApp } = await import('../src/web/app');
  const count = async (extra: number) => {
    const db = join(tempDir(), 'k.db');
    const store = Store.open(db);
    const { tinyExperiment } = await import('./support/helpers');
    for (let i = 0; i < extra; i++) tinyExperiment(store, { name: `e${i}`, trials: 1 });
    let queries = 0;
    const prepare = store.db.prepare.bind(store.db);
    store.db.prepare = ((sql: string) => {
      queries++;
      return prepare(sql);
    }) as typeof store.db.prepare;
    const app = createApp(store);
    const listening = app.listen(0, '127.0.0.1');
    await new Promise((r) => listening.once('listening', r));
    const address = listening.address() as { port: number };
    const res = await fetch(`http://127.0.0.1:${address.port}/`);
    assert.equal(res.status, 200);
    await res.text();
    await new Promise((r) => listening.close(r));
    store.close();
    return queries;
  };
  const [one, many] = [await count(1), await count(12)];
  assert.equal(many, one, `${one} queries for 1 experiment, ${many} for 12`);
});

test('device timings: refused (405) without --device-bench; with it, only with the token (403), a JSON body (400) within the limit (413) that validates (400); nothing written until one does', async () => {
  const refused = await get('/experiments/demo/device-timings', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  assert.equal(refused.status, 405);
  const db = join(tempDir(), 'device.db');
  copyFileSync(fixture.db, db);
  const lines: string[] = [];
  const bench = await startServer({ db, port: 0, host: '127.0.0.1', deviceBench: true }, (line) => lines.push(line));
  try {
    const token = /X-Device-Token: (\S+)/.exec(lines.join('\n'))?.[1];
    assert.ok(token, lines.join('\n'));
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${bench.url}experiments/demo/device-timings`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
    const timing = { trial: 0, medianMs: 1.5, p10Ms: 1.2, p90Ms: 2.1, runs: 60 };
    const valid = JSON.stringify({ device: { name: 'Pixel 7' }, timings: [timing, { ...timing, trial: 1 }] });
    assert.equal((await post(valid)).status, 403, 'no token');
    assert.equal((await post(valid, { 'X-Device-Token': `${token}x` })).status, 403, 'wrong token');
    const withToken = { 'X-Device-Token': token };
    assert.equal((await post('{"device": ', withToken)).status, 400, 'not JSON');
    assert.equal((await post(JSON.stringify({ device: { name: 'x'.repeat(70_000) }, timings: [timing] }), withToken)).status, 413, 'over the limit');
    assert.equal((await post(JSON.stringify({ device: { name: 'Pixel 7' }, timings: [{ ...timing, p10Ms: 3 }] }), withToken)).status, 400, 'p10 above the median');
    assert.equal((await post(JSON.stringify({ device: { name: 'Pixel 7' }, timings: [{ ...timing, runs: 10 }] }), withToken)).status, 400, 'too few runs');
    const failed = await post(JSON.stringify({ device: { name: 'Pixel 7' }, timings: [timing, { ...timing, trial: 4 }] }), withToken);
    assert.equal(failed.status, 400, 'trial 4 failed: no latency to compare');
    assert.match(((await failed.json()) as { error: string }).error, /no complete trial 4/);
    const store = Store.open(db, { readonly: true });
    const exp = store.getExperiment('demo');
    assert.deepEqual(store.devices(exp), [], 'nothing written by a refused post');
    const ok = await post(valid, { ...withToken, 'user-agent': 'test-phone/1.0' });
    assert.equal(ok.status, 201);
    const [device] = store.devices(exp);
    assert.equal(device.name, 'Pixel 7');
    assert.equal(device.userAgent, 'test-phone/1.0');
    assert.deepEqual([...device.timings.keys()], [0, 1]);
    assert.equal(device.timings.get(1)!.medianMs, 1.5);
    store.close();
  } finally {
    await bench.close();
  }
});
