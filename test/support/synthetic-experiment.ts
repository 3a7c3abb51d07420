import { join } from 'node:path';
import { createRng } from '../../src/core/rng';
import { BUILTIN_TEACHER_SPEC } from '../../src/model/teacher-arch';
import { standInMetrics } from '../../src/search/stand-in';
import { candidateHash } from '../../src/space/candidate';
import { loadSearchSpace } from '../../src/space/load';
import { estimateSize, sampleCandidate } from '../../src/space/sample';
import type { Store } from '../../src/store/store';
import { ROOT } from './helpers';

const CTX = { inputShape: [28, 28, 1], numClasses: 10, teacherSpec: BUILTIN_TEACHER_SPEC, teacherParams: 225034, teacherMacs: 2631040 };

/**
 * An experiment of `trials` synthetic trials written through the Store as a
 * search writes them: real candidates of mnist-full, 4-epoch curves, a
 * weights blob; stand-in metrics with seeded noise so the front holds tens
 * of members; about 2% FAILED and, with `running`, the last few RUNNING.
 * For the report's bench and its scale test: no training.
 */
export function syntheticExperiment(store: Store, opts: { name: string; trials: number; seed?: number; running?: number }) {
  const { space, text } = loadSearchSpace(join(ROOT, 'search-spaces', 'mnist-full.yaml'));
  const exp = store.createExperiment({
    name: opts.name,
    spaceText: text,
    space,
    spaceHash: 'synthetic',
    spaceFile: 'search-spaces/mnist-full.yaml',
    controller: 'random',
    seed: opts.seed ?? 0,
    plannedTrials: opts.trials,
    teacher: { source: 'builtin', accuracy: 0.9895, params: 225034, macs: 2631040, sizeBytes: 900136, latencyMs: 0.5 },
    teacherFingerprint: 'synthetic',
    datasetFingerprint: 'synthetic',
  });
  const rng = createRng('synthetic', opts.seed ?? 0);
  const weights = { topology: {}, manifest: [], data: Buffer.alloc(1024) };
  store.db.transaction(() => {
    for (let n = 0; n < opts.trials; n++) {
      const sampled = sampleCandidate(space, CTX, rng);
      // A learning rate off the space's grid by a hair: every trial its own hash, however many.
      const candidate = { ...sampled, training: { ...sampled.training, learningRate: sampled.training.learningRate * (1 + n * 1e-7) } };
      store.insertTrial(exp, n, candidate, candidateHash(candidate), estimateSize(candidate, CTX));
      if (opts.running !== undefined && n >= opts.trials - opts.running) {
        store.claimTrial(exp, n, 'synthetic:1');
        continue;
      }
      store.claimTrial(exp, n, 'synthetic:1');
      if (rng.next() < 0.02) {
        store.finishWithoutResult(exp, n, 'FAILED', { code: 'TRIAL_DIVERGED', message: 'training loss became NaN in epoch 2' });
        continue;
      }
      const base = standInMetrics(candidate, CTX);
      const accuracy = Math.min(0.999, Math.max(0.1, base.accuracy + 0.01 * rng.normal()));
      const latencyMs = base.latencyMs * Math.exp(0.15 * rng.normal());
      const curve = [1, 2, 3, 4].map((epoch) => ({ epoch, loss: 1 / epoch, kdLoss: 0.5 / epoch, ceLoss: 0.5 / epoch, valAccuracy: accuracy * (0.9 + 0.025 * epoch), seconds: 1 }));
      store.completeTrial(exp, n, {
        metrics: { ...base, accuracy, floatAccuracy: accuracy, latencyMs, latencyP10Ms: latencyMs * 0.9, latencyP90Ms: latencyMs * 1.2 },
        layers: [],
        backend: 'wasm',
        seconds: 10,
        curve,
        weights,
      });
    }
  })();
  store.setExperimentStatus(exp.id, opts.running ? 'running' : 'finished');
  return store.getExperiment(opts.name);
}
