import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { loadEmbeddedMnist } from '../src/datasets/mnist-embedded';
import { BUILTIN_TEACHER_SPEC } from '../src/model/teacher-arch';
import { PiscinaExecutor } from '../src/runtime/piscina-executor';
import { runSearchLoop } from '../src/runtime/search-loop';
import type { SearchLoopOptions } from '../src/runtime/search-loop';
import { shareData } from '../src/runtime/shared-data';
import type { SharedData } from '../src/runtime/shared-data';
import { createController } from '../src/search/controllers';
import { Store } from '../src/store/store';
import { tempDir, tinyExperiment } from './helpers';

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
  const executor = new PiscinaExecutor({ workers: 2, timeLimitSec: 4, memoryLimitMb: 256 });
  const inject = { 0: 'throw', 1: 'oom', 2: 'hang' } as const;
  try {
    await search({ store, experiment, executor, trials: 5, inject: (n) => inject[n as 0 | 1 | 2] });
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
  assert.match(trials[2].error!, /time limit of 4 s/);
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
  const executor = new PiscinaExecutor({ workers: 2 });
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
      inject: (n) => (n === 1 ? 'hang' : undefined),
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
