import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { frontProgress, referenceVector, scoredTrials } from '../src/search/objectives';
import { hypervolume } from '../src/search/hypervolume';
import { paretoFront } from '../src/search/pareto';
import type { TrialRecord } from '../src/space/history';
import { Store } from '../src/store/store';
import type { Experiment } from '../src/store/store';
import { ReportCache } from '../src/web/report-cache';
import { startServer } from '../src/web/server';
import { tempDir } from './support/helpers';
import { serveProcess, timedGet } from './support/serve-process';
import { syntheticExperiment } from './support/synthetic-experiment';

let db: string;
let history: TrialRecord[];
let exp: Experiment;

before(() => {
  db = join(tempDir(), 'scale.db');
  const store = Store.open(db);
  exp = syntheticExperiment(store, { name: 'big', trials: 2000, seed: 7 });
  syntheticExperiment(store, { name: 'live', trials: 300, seed: 8, running: 12 });
  history = store.history(exp);
  store.close();
});

/** The front and hypervolume computed from scratch: a full non-dominated sort, the exact hypervolume of every feasible point. */
function direct(trials: readonly TrialRecord[]) {
  const { trials: scored, points } = scoredTrials(exp.space, trials);
  return {
    front: paretoFront(points).map((i) => scored[i].number).sort((a, b) => a - b),
    hypervolume: hypervolume(points, referenceVector(exp.space)),
  };
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b));

test('the incremental front and hypervolume curve equal a direct computation: every prefix of the first 300 trials, and all 2,000', () => {
  const progress = frontProgress(exp.space, history);
  const curve = progress.curve;
  assert.equal(curve.length, 2000);
  for (let n = 1; n <= 300; n++) {
    const want = direct(history.slice(0, n));
    const got = frontProgress(exp.space, history.slice(0, n));
    assert.deepEqual([...new Set(got.members.map((p) => p.key.number))].sort((a, b) => a - b), want.front, `front after ${n} trials`);
    assert.ok(close(curve[n - 1].hypervolume, want.hypervolume), `hypervolume after ${n} trials: ${curve[n - 1].hypervolume} vs ${want.hypervolume}`);
  }
  const all = direct(history);
  assert.ok(all.front.length >= 20, `a front of ${all.front.length}`);
  assert.deepEqual([...new Set(progress.members.map((p) => p.key.number))].sort((a, b) => a - b), all.front);
  assert.ok(close(progress.hypervolume, all.hypervolume));
});

test('the report folds in trials that finish later, out of order, and shows what a direct computation shows', async () => {
  const reader = Store.open(db, { readonly: true });
  const writer = Store.open(db);
  try {
    const live = reader.getExperiment('live');
    const cache = new ReportCache(reader);
    const first = await cache.snapshot(live);
    assert.equal(first.counts.RUNNING, 12);
    const check = async () => {
      const snap = await cache.snapshot(reader.getExperiment('live'));
      const trials = reader.history(live);
      const want = direct(trials);
      assert.deepEqual(snap.front.map((t) => t.number), want.front);
      assert.ok(close(snap.curve[snap.curve.length - 1].hypervolume, want.hypervolume));
      const curve = frontProgress(live.space, trials).curve;
      assert.deepEqual(snap.curve.map((s) => s.step), curve.map((s) => s.step));
      for (let i = 0; i < curve.length; i++) assert.ok(close(snap.curve[i].hypervolume, curve[i].hypervolume), `curve at ${i}`);
      return snap;
    };
    await check();
    // The running trials finish last first; each look reads only what changed.
    const metrics = reader.history(reader.getExperiment('big')).find((t) => t.metrics && t.metrics.accuracy > 0.98)!.metrics!;
    for (const n of [299, 295, 290, 288]) {
      writer.completeTrial(live, n, {
        metrics: { ...metrics, sizeBytes: metrics.sizeBytes - (300 - n), latencyMs: metrics.latencyMs * 0.5 },
        layers: [],
        backend: 'wasm',
        seconds: 1,
        curve: [],
        weights: { topology: {}, manifest: [], data: Buffer.alloc(4) },
      });
      const snap = await check();
      assert.ok(snap.onFront.has(n), `trial ${n}, better than any before it, joins the front`);
    }
  } finally {
    reader.close();
    writer.close();
  }
});

let server: Awaited<ReturnType<typeof startServer>> | undefined;
after(async () => server?.close());

test('at 2,000 trials the experiment page and data.json each answer in under 1 s, from a cold start', async () => {
  server = await startServer({ db, port: 0, host: '127.0.0.1' }, () => {});
  for (const path of ['experiments/big', 'experiments/big/data.json', 'experiments/big/trials.json?sort=accuracy&dir=desc&page=2']) {
    const started = performance.now();
    const res = await fetch(server.url + path);
    const body = await res.text();
    const ms = performance.now() - started;
    assert.equal(res.status, 200, `${path}: ${body.slice(0, 200)}`);
    assert.ok(ms < 1000, `${path} took ${ms.toFixed(0)} ms`);
  }
  const data = (await (await fetch(`${server.url}experiments/big/data.json`)).json()) as { front: Array<{ number: number }>; dominatedTotal: number; dominated: unknown[]; hypervolume: Array<{ hypervolume: number }> };
  const all = direct(history);
  assert.deepEqual(data.front.map((t) => t.number), all.front);
  assert.ok(close(data.hypervolume[data.hypervolume.length - 1].hypervolume, all.hypervolume));
  assert.equal(data.dominated.length, Math.min(2000, data.dominatedTotal));
});

test('while the 2,000-trial page is requested in a loop, a small page answers in under 100 ms, and serve stops within 1 s of SIGTERM', async () => {
  const serve = await serveProcess(db);
  const get = (path: string) => timedGet(serve.url + path);
  await get('experiments/big');
  let loading = true;
  const loop = (async () => {
    while (loading) await get('experiments/big').catch(() => {});
  })();
  const times: number[] = [];
  for (let i = 0; i < 15; i++) times.push(await get('experiments/live'));
  times.sort((a, b) => a - b);
  assert.ok(times[7] < 100, `small page median ${times[7].toFixed(0)} ms (${times.map((t) => t.toFixed(0)).join(', ')})`);
  const stoppedAfter = await serve.terminate();
  loading = false;
  await loop;
  assert.ok(stoppedAfter < 1000, `serve stopped ${stoppedAfter.toFixed(0)} ms after SIGTERM`);
});
