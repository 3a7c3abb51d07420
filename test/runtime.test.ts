import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { loadEmbeddedMnist } from '../src/datasets/mnist-embedded';
import { BUILTIN_TEACHER_SPEC } from '../src/model/teacher-arch';
import { PiscinaExecutor } from '../src/runtime/piscina-executor';
import { runSearchLoop } from '../src/runtime/search-loop';
import type { SearchEvent, SearchLoopOptions } from '../src/runtime/search-loop';
import { InProcessExecutor } from '../src/runtime/in-process-executor';
import { createRng } from '../src/core/rng';
import { candidateHash } from '../src/space/candidate';
import { estimateSize, sampleCandidate } from '../src/space/sample';
import { shareData } from '../src/runtime/shared-data';
import { createController } from '../src/search/controllers';
import { Store } from '../src/store/store';
import { FAULT_WORKER } from './support/fault-worker';
import { tempDir, tinyExperiment } from './support/helpers';
import type { SharedData } from '../src/runtime/task';

const ctx = { inputShape: [28, 28, 1], numClasses: 10, teacherSpec: BUILTIN_TEACHER_SPEC, teacherParams: 225034, teacherMacs: 1 };
let data: SharedData;
let nanData: SharedData;

before(() => {
  const dataset = loadEmbeddedMnist({ dataDir: tempDir() });
  const logits = new Float32Array(dataset.train.n * 10);
  for (let i = 0; i < dataset.train.n; i++) logits[i * 10 + dataset.train.y[i]] = 4;
  data = shareData(dataset, logits);
  nanData = shareData(dataset, logits.map(() => NaN));
});

function setup(name: string, trials: number) {
  const store = Store.open(join(tempDir(), 'k.db'));
  const experiment = tinyExperiment(store, { name, trials });
  return { store, experiment };
}

async function search(opts: Partial<SearchLoopOptions> & Pick<SearchLoopOptions, 'store' | 'experiment' | 'executor' | 'trials'>) {
  return runSearchLoop({
    controller: createController('random'),
    spaceContext: ctx,
    data,
    teacher: { spec: BUILTIN_TEACHER_SPEC, topology: {} },
    backend: 'wasm',
    signal: new AbortController().signal,
    ...opts,
  });
}

test('faults stay inside their trial: throw, memory limit and time limit fail one trial each, the search goes on', async () => {
  const { store, experiment } = setup('faults', 5);
  // 10 s: a normal trial here trains for about a second and is then warmed up to 4 s before its latency is timed.
  const executor = new PiscinaExecutor({ workers: 2, timeLimitSec: 10, memoryLimitMb: 256, workerFile: FAULT_WORKER, workerData: { faults: { 0: 'throw', 1: 'oom', 2: 'hang' } } });
  try {
    await search({ store, experiment, executor, trials: 5 });
  } finally {
    await executor.close();
  }
  const trials = store.history(experiment).map((t) => store.trialDetail(experiment, t.number)!);
  assert.deepEqual(
    trials.map((t) => [t.number, t.state, t.errorCode ?? null]),
    [
      [0, 'FAILED', 'TRIAL_CRASHED'],
      [1, 'FAILED', 'TRIAL_OUT_OF_MEMORY'],
      [2, 'FAILED', 'TRIAL_TIMEOUT'],
      [3, 'COMPLETE', null],
      [4, 'COMPLETE', null],
    ],
  );
  assert.match(trials[0].error!, /injected failure/);
  assert.match(trials[2].error!, /time limit of 10 s/);
  assert.ok(trials[3].metrics!.accuracy > 0.2);
  assert.equal(trials[3].curve.length, 1, 'per-epoch progress was written');
  store.close();
});

test('a NaN loss fails the trial as TRIAL_DIVERGED', async () => {
  const { store, experiment } = setup('nan', 2);
  const executor = new PiscinaExecutor({ workers: 1 });
  try {
    await search({ store, experiment, executor, trials: 2, data: nanData });
  } finally {
    await executor.close();
  }
  for (const t of store.history(experiment)) {
    const d = store.trialDetail(experiment, t.number)!;
    // alpha is always > 0 in this space, so the NaN teacher logits reach the loss.
    assert.equal(d.state, 'FAILED');
    assert.equal(d.errorCode, 'TRIAL_DIVERGED');
  }
  store.close();
});

test('stopping the loop returns in-flight trials to WAITING and loses nothing', async () => {
  const { store, experiment } = setup('stop', 6);
  const executor = new PiscinaExecutor({ workers: 2, workerFile: FAULT_WORKER, workerData: { faults: { 1: 'hang' } } });
  const abort = new AbortController();
  try {
    await search({
      store,
      experiment,
      executor,
      trials: 6,
      signal: abort.signal,
      onEvent: (e) => {
        if (e.type === 'trial-end' && e.number === 0) abort.abort();
      },
    });
  } finally {
    await executor.close();
  }
  const states = store.history(experiment).map((t) => t.state);
  assert.equal(states[0], 'COMPLETE');
  assert.ok(!states.includes('RUNNING'), `states ${states}`);
  assert.ok(states.includes('WAITING'), 'the hanging trial went back to WAITING');
  store.close();
});

test('in process: a trial another live process runs is waited for, and run here once that process dies; the loop never ends while one is RUNNING', async () => {
  const { store, experiment } = setup('foreign', 3);
  const owner = spawn('sleep', ['60']);
  const ownerName = `${hostname()}:${owner.pid}`;
  const candidate = sampleCandidate(experiment.space, ctx, createRng('foreign'));
  store.insertTrial(experiment, 0, candidate, candidateHash(candidate), estimateSize(candidate, ctx));
  assert.ok(store.claimTrial(experiment, 0, ownerName));
  const events: SearchEvent[] = [];
  let ended = false;
  const loop = search({ store, experiment, executor: new InProcessExecutor(), trials: 3, pollMs: 20, onEvent: (e) => events.push(e) }).finally(() => (ended = true));
  try {
    const until = Date.now() + 60_000;
    while (store.history(experiment).filter((t) => t.state === 'COMPLETE').length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(store.history(experiment).map((t) => t.state), ['RUNNING', 'COMPLETE', 'COMPLETE']);
    assert.equal(ended, false, 'the loop waits while trial 0 is RUNNING elsewhere');
    assert.ok(events.some((e) => e.type === 'waiting' && e.trials.some((t) => t.number === 0 && t.owner === ownerName)), 'it says what it waits for');
  } finally {
    owner.kill('SIGKILL');
  }
  const result = await loop;
  assert.equal(result.stopped, false);
  assert.deepEqual(store.history(experiment).map((t) => t.state), ['COMPLETE', 'COMPLETE', 'COMPLETE']);
  assert.ok(events.some((e) => e.type === 'requeued' && e.numbers.includes(0)), 'the dead owner\'s trial was requeued');
  assert.equal(store.trial(experiment, 0)!.hash, candidateHash(candidate), 'the same candidate ran');
  store.close();
});
