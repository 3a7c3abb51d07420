import { join } from 'node:path';
import { loadEmbeddedMnist } from '../../src/datasets/mnist-embedded';
import { BUILTIN_TEACHER_SPEC } from '../../src/model/teacher-arch';
import { PiscinaExecutor } from '../../src/runtime/piscina-executor';
import { runSearchLoop } from '../../src/runtime/search-loop';
import { shareData } from '../../src/runtime/shared-data';
import type { Candidate } from '../../src/space/candidate';
import { makeCandidate } from '../../src/space/sample';
import type { Controller } from '../../src/search/types';
import { Store } from '../../src/store/store';
import { FAULT_WORKER } from './fault-worker';
import { tempDir, tinyExperiment } from './helpers';

export const XSS_NAME = '<script>alert(1)</script>';
const ctx = { inputShape: [28, 28, 1], numClasses: 10, teacherSpec: BUILTIN_TEACHER_SPEC, teacherParams: 225034, teacherMacs: 2631040 };
const training = { epochs: 2, batchSize: 64, learningRate: 0.005, temperature: 4, alpha: 0.5, scheme: 'offline' as const, trainLimit: 800 };

/** The students the report tests look at: every stored precision, and one that fails. */
export const FIXTURE_CANDIDATES: Candidate[] = [
  makeCandidate({ family: 'mlp', units: [32] }, { precision: 'float32', quantization: 'per-tensor', qat: false }, training, ctx),
  makeCandidate({ family: 'cnn', blocks: [{ filters: 4, kernel: 3 }], dense: 0 }, { precision: 'int8', quantization: 'per-tensor', qat: false }, training, ctx),
  makeCandidate({ family: 'mlp', units: [16] }, { precision: 'int8', quantization: 'per-channel', qat: false }, training, ctx),
  makeCandidate({ family: 'separable', blocks: [{ filters: 4, kernel: 3 }, { filters: 8, kernel: 3 }], dense: 0 }, { precision: 'float16', quantization: 'per-tensor', qat: false }, training, ctx),
  makeCandidate({ family: 'mlp', units: [8] }, { precision: 'float32', quantization: 'per-tensor', qat: false }, training, ctx),
];

/** A controller that proposes a fixed list, so the fixture is the same every run. */
function scripted(list: Candidate[]): Controller {
  return { name: 'random', ask: ({ history }) => list[history.length] };
}

/** Runs the fixture searches through the real runtime into a fresh database. */
export async function buildReportFixture(): Promise<{ db: string; dataset: ReturnType<typeof loadEmbeddedMnist> }> {
  const db = join(tempDir(), 'report.db');
  const store = Store.open(db);
  const dataset = loadEmbeddedMnist({ dataDir: tempDir() });
  const logits = new Float32Array(dataset.train.n * 10);
  for (let i = 0; i < dataset.train.n; i++) logits[i * 10 + dataset.train.y[i]] = 4;
  const data = shareData(dataset, logits);
  const executor = new PiscinaExecutor({ workers: 2, workerFile: FAULT_WORKER, workerData: { faults: { 4: 'throw' } } });
  try {
    for (const [name, list] of [
      ['demo', FIXTURE_CANDIDATES],
      [XSS_NAME, FIXTURE_CANDIDATES.slice(0, 1)],
    ] as const) {
      const experiment = tinyExperiment(store, { name, trials: list.length });
      await runSearchLoop({
        store,
        experiment,
        controller: scripted(list),
        spaceContext: ctx,
        executor,
        data,
        teacher: { spec: BUILTIN_TEACHER_SPEC, topology: {} },
        backend: 'wasm',
        trials: list.length,
        signal: new AbortController().signal,
      });
      store.setExperimentStatus(experiment.id, 'finished');
    }
  } finally {
    await executor.close();
    store.close();
  }
  return { db, dataset };
}
