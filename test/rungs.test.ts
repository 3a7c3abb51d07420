import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { loadEmbeddedMnist } from '../src/datasets/mnist-embedded';
import { BUILTIN_TEACHER_SPEC } from '../src/model/teacher-arch';
import { InProcessExecutor } from '../src/runtime/in-process-executor';
import { runSearchLoop } from '../src/runtime/search-loop';
import type { SearchEvent } from '../src/runtime/search-loop';
import { shareData } from '../src/runtime/shared-data';
import type { SharedData } from '../src/runtime/task';
import { createController } from '../src/search/controllers';
import { frontOf } from '../src/search/objectives';
import { nextRung, promotable, rankAtRung, rungEpochs } from '../src/search/promotion';
import { sampleCandidate } from '../src/space/sample';
import { candidateHash } from '../src/space/candidate';
import type { TrialRecord } from '../src/space/history';
import { parseSearchSpace } from '../src/space/load';
import { createRng } from '../src/core/rng';
import type { TrialState } from '../src/core/trial-state';
import { Store } from '../src/store/store';
import { startServer } from '../src/web/server';
import { labelLogits, tempDir, tinyExperiment } from './support/helpers';

const ctx = { inputShape: [28, 28, 1], numClasses: 10, teacherSpec: BUILTIN_TEACHER_SPEC, teacherParams: 225034, teacherMacs: 1 };

const space = parseSearchSpace(
  `
name: rungs
objectives: [accuracy, sizeBytes]
reference: { accuracy: 0.5, sizeBytes: 1000 }
constraints: { maxLatencyMs: 1 }
fidelity: { minEpochs: 1, eta: 2 }
training: { epochs: 4 }
families: { mlp: { depth: 1, units: [8, 16] } }
`,
  'rungs.yaml',
);
const candidate = sampleCandidate(space, ctx, createRng('t'))!;

/** A trial with its metrics at rungs: [epoch, accuracy, sizeBytes, latencyMs?]. */
function trial(number: number, state: TrialState, rungs: Array<[number, number, number, number?]>): TrialRecord {
  return {
    number,
    hash: String(number),
    candidate,
    state,
    rungs: rungs.map(([epoch, accuracy, sizeBytes, latencyMs = 0.5]) => ({
      epoch,
      metrics: { accuracy, floatAccuracy: accuracy, params: 1, macs: 1, sizeBytes, latencyMs, latencyP10Ms: latencyMs, latencyP90Ms: latencyMs },
    })),
  };
}

test('rungs are minEpochs * eta^k below the epochs; a leg stops at the next one, or runs to the end', () => {
  assert.deepEqual(rungEpochs({ minEpochs: 1, eta: 3 }, 12), [1, 3, 9]);
  assert.deepEqual(rungEpochs({ minEpochs: 1, eta: 2 }, 4), [1, 2]);
  assert.deepEqual(rungEpochs({ minEpochs: 2, eta: 3 }, 2), []);
  assert.deepEqual(rungEpochs(undefined, 12), []);
  assert.equal(nextRung({ minEpochs: 1, eta: 3 }, 12, 0), 1);
  assert.equal(nextRung({ minEpochs: 1, eta: 3 }, 12, 1), 3);
  assert.equal(nextRung({ minEpochs: 1, eta: 3 }, 12, 9), undefined);
});

test('promotion: the best floor(n / eta) of a rung by non-dominated sorting, those already promoted counted', () => {
  // accuracy up, size down: 0 and 1 are the front; 2 and 3 are dominated by 0
  const history = [trial(0, 'PAUSED', [[1, 0.9, 100]]), trial(1, 'PAUSED', [[1, 0.8, 50]]), trial(2, 'PAUSED', [[1, 0.7, 200]]), trial(3, 'PAUSED', [[1, 0.85, 300]])];
  assert.deepEqual(rankAtRung(space, history, 1).map((t) => t.number).slice(0, 2).sort(), [0, 1]);
  assert.equal(promotable(space, history), 0, 'both ends of the front: the lower number first');
  history[0] = { ...history[0], state: 'RUNNING' };
  assert.equal(promotable(space, history), 1);
  history[1] = { ...history[1], state: 'WAITING' };
  assert.equal(promotable(space, history), undefined, 'two of four promoted at eta 2: no more');
  // one more trial at the rung does not make room (floor(5 / 2) = 2); a sixth that beats 1 does not either: 1 already went
  history.push(trial(4, 'PAUSED', [[1, 0.6, 400]]), trial(5, 'PAUSED', [[1, 0.95, 40]]));
  assert.equal(promotable(space, history), 5, 'floor(6 / 2) = 3: trial 5 dominates everything and is promoted');
});

test('promotion: within a front the crowding distance decides, the higher rung goes first, and a trial over maxLatencyMs never goes', () => {
  // a front of three (and one dominated): the two ends have infinite crowding distance, the middle one loses
  const front = [trial(0, 'PAUSED', [[1, 0.9, 300]]), trial(1, 'PAUSED', [[1, 0.85, 150]]), trial(2, 'PAUSED', [[1, 0.8, 100]]), trial(3, 'PAUSED', [[1, 0.7, 400]])];
  assert.deepEqual(rankAtRung(space, front, 1).map((t) => t.number), [0, 2, 1, 3]);
  // trial 6 waits at rung 2 with trial 7, which went on; trial 8 is at rung 1 among weaker trials
  const levels = [trial(6, 'PAUSED', [[1, 0.9, 100], [2, 0.95, 100]]), trial(7, 'COMPLETE', [[1, 0.8, 100], [2, 0.9, 100]]), trial(8, 'PAUSED', [[1, 0.99, 10]]), trial(9, 'PAUSED', [[1, 0.5, 500]])];
  assert.equal(promotable(space, levels), 6, 'the higher rung first');
  // the best at its rung, but too slow for the constraint: never promoted, it cannot be on the front
  const slow = [trial(0, 'PAUSED', [[1, 0.99, 10, 5]]), trial(1, 'PAUSED', [[1, 0.8, 100]]), trial(2, 'PAUSED', [[1, 0.7, 200]]), trial(3, 'PAUSED', [[1, 0.6, 300]])];
  assert.deepEqual(rankAtRung(space, slow, 1).map((t) => t.number), [1, 2, 3, 0]);
  assert.equal(promotable(space, slow), 1);
  assert.equal(promotable({ ...space, fidelity: undefined }, slow), undefined, 'no rungs, no promotion');
});

let data: SharedData;
before(() => {
  const dataset = loadEmbeddedMnist({ dataDir: tempDir() });
  data = shareData(dataset, labelLogits(dataset));
});

test('a search with rungs: trials pause at each rung, the best continue from their checkpoints, the rest are PRUNED at the end with their rungs kept', async () => {
  const store = Store.open(join(tempDir(), 'k.db'));
  const base = tinyExperiment(store, { name: 'rungs', trials: 6 });
  // the tiny space over 3 epochs, rungs at 1 and 2 (eta 2)
  const exp = { ...base, space: { ...base.space, training: { ...base.space.training, epochs: 3 }, fidelity: { minEpochs: 1, eta: 2 } } };
  const events: SearchEvent[] = [];
  const executor = new InProcessExecutor();
  const result = await runSearchLoop({
    store,
    experiment: exp,
    controller: createController('random'),
    spaceContext: ctx,
    executor,
    data,
    teacher: { spec: BUILTIN_TEACHER_SPEC, topology: {} },
    backend: 'wasm',
    trials: 6,
    signal: new AbortController().signal,
    onEvent: (e) => events.push(e),
  });
  assert.equal(result.stopped, false);
  const history = store.history(exp);
  assert.equal(history.length, 6, 'PAUSED and PRUNED trials count toward --trials');
  const states = history.map((t) => t.state);
  assert.ok(states.every((s) => s === 'COMPLETE' || s === 'PRUNED'), `states ${states}`);
  assert.ok(history.every((t) => t.rungs?.[0]?.epoch === 1), 'every trial was measured at the first rung');
  // ASHA's end state: no PRUNED trial is among the best floor(n / eta) of the last rung it reached (it would have been promoted)
  for (const epoch of [1, 2]) {
    const ranked = rankAtRung(exp.space, history, epoch);
    const top = ranked.slice(0, Math.floor(ranked.length / 2));
    const stuck = top.filter((t) => t.state === 'PRUNED' && t.rungs!.at(-1)!.epoch === epoch);
    assert.deepEqual(stuck.map((t) => t.number), [], `rung ${epoch}: top ${top.map((t) => t.number)}`);
  }
  assert.ok(history.some((t) => t.state === 'PRUNED'), 'some trials stopped early');
  const complete = history.filter((t) => t.state === 'COMPLETE');
  assert.ok(complete.length >= 1, 'at least one trial trained to its full epochs');
  for (const t of complete) {
    assert.deepEqual(t.rungs?.map((r) => r.epoch), [1, 2]);
    const detail = store.trialDetail(exp, t.number)!;
    assert.deepEqual(detail.curve.map((c) => c.epoch), [1, 2, 3], `trial ${t.number}: one curve over its legs`);
    // continued, not restarted: the curve's epoch 2 is the one its rung measured
    if (t.candidate.student.precision === 'float32') assert.equal(detail.curve[1].valAccuracy, t.rungs![1].metrics.floatAccuracy);
  }
  for (const t of history.filter((h) => h.state === 'PRUNED')) {
    const detail = store.trialDetail(exp, t.number)!;
    assert.equal(detail.errorCode, 'TRIAL_PRUNED');
    assert.equal(detail.metrics, undefined, "a pruned trial's metrics are its rungs', not a full training's");
    assert.match(detail.error!, /not among the best 1\/2 of the trials at its rung \(epoch \d\)/);
  }
  assert.deepEqual(
    frontOf(exp.space, history).map((t) => t.state),
    frontOf(exp.space, history).map(() => 'COMPLETE'),
    'the front holds trials trained to their full epochs',
  );
  assert.equal((store.db.prepare('SELECT COUNT(*) AS n FROM trial_checkpoints').get() as { n: number }).n, 0, 'no checkpoint outlives its trial');
  assert.ok(events.some((e) => e.type === 'promoted'));
  assert.ok(events.some((e) => e.type === 'trial-paused'));

  // the report: a pruned trial's last rung in the table, marked with its epoch; every trial's rung history on its page
  const server = await startServer({ db: store.path, port: 0, host: '127.0.0.1' }, () => {});
  try {
    const pruned = history.find((t) => t.state === 'PRUNED')!;
    const page = await (await fetch(`${server.url}experiments/rungs/trials/${pruned.number}`)).text();
    assert.match(page, /<h2>Rungs<\/h2>/);
    assert.match(page, /<td>1<\/td><td>[\d.]+%<\/td>.*<td>(pruned|promoted)<\/td>/);
    assert.match(page, new RegExp(`<td>${pruned.rungs!.at(-1)!.epoch}</td>.*<td>pruned</td>`));
    const done = complete[0];
    const donePage = await (await fetch(`${server.url}experiments/rungs/trials/${done.number}`)).text();
    assert.equal((donePage.match(/<td>promoted<\/td>/g) ?? []).length, 2, 'promoted at both its rungs');
    const listing = await (await fetch(`${server.url}experiments/rungs`)).text();
    const table = JSON.parse(/<script id="table-data" type="application\/json">(.*?)<\/script>/s.exec(listing)![1]) as { rows: Array<{ number: number; rungEpoch: number | null; accuracy: number | null }> };
    const row = table.rows.find((r) => r.number === pruned.number)!;
    assert.equal(row.rungEpoch, pruned.rungs!.at(-1)!.epoch);
    assert.equal(row.accuracy, pruned.rungs!.at(-1)!.metrics.accuracy);
    assert.equal(table.rows.find((r) => r.number === done.number)!.rungEpoch, null);
  } finally {
    await server.close();
  }
  store.close();
});

test('requeued after a crash, a continued trial keeps its epochs up to its checkpoint and runs the rest again', () => {
  const store = Store.open(join(tempDir(), 'k.db'));
  const exp = tinyExperiment(store, { name: 'requeue', trials: 1 });
  const c = sampleCandidate(exp.space, ctx, createRng('r'))!;
  store.insertTrial(exp, 0, c, candidateHash(c), { params: 1, macs: 1, sizeBytes: 1 });
  assert.ok(store.claimTrial(exp, 0, 'a'));
  const epoch = (n: number) => ({ epoch: n, loss: 1, kdLoss: 0, ceLoss: 1, valAccuracy: 0.5, seconds: 1 });
  const metrics = { accuracy: 0.5, floatAccuracy: 0.5, params: 1, macs: 1, sizeBytes: 1, latencyMs: 0.1, latencyP10Ms: 0.1, latencyP90Ms: 0.1 };
  const checkpoint = { epoch: 1, parts: { model: 1, scheme: 0, optimizer: 0 }, shapes: [[2]], data: new Float32Array([1, 2]).buffer };
  store.pauseTrial(exp, 0, { epoch: 1, metrics, backend: 'wasm', seconds: 2, curve: [epoch(1)], checkpoint });
  assert.equal(store.trial(exp, 0)!.state, 'PAUSED');
  assert.equal(store.claimTrial(exp, 0, 'a'), false, 'a paused trial is not claimable until promoted');
  assert.ok(store.promoteTrial(exp, 0));
  assert.equal(store.promoteTrial(exp, 0), false, 'compare-and-set');
  assert.ok(store.claimTrial(exp, 0, 'b'));
  store.recordEpoch(exp, 0, epoch(2));
  assert.deepEqual(store.requeueOwned(exp, 'b'), [0]);
  assert.deepEqual(store.trialDetail(exp, 0)!.curve.map((r) => r.epoch), [1]);
  const back = store.checkpoint(exp, 0)!;
  assert.equal(back.epoch, 1);
  assert.deepEqual(Array.from(new Float32Array(back.data)), [1, 2]);
  store.db.prepare('UPDATE trial_checkpoints SET data = ?').run(Buffer.alloc(4));
  assert.throws(() => store.checkpoint(exp, 0), /trial 0, checkpoint does not match its schema[\s\S]*expected 8 bytes/);
  store.close();
});
