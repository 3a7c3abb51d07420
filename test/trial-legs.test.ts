import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadEmbeddedMnist } from '../src/datasets/mnist-embedded';
import type { Dataset } from '../src/datasets/types';
import { runTrial, runTrialLeg } from '../src/distill/trial';
import type { PausedTrial, TrialInput, TrialResult } from '../src/distill/trial';
import { checkpointSchema } from '../src/core/checkpoint';
import { BUILTIN_TEACHER_SPEC } from '../src/model/teacher-arch';
import { parseStudentSpec } from '../src/space/student';
import { labelLogits, tempDir, useWasm } from './support/helpers';
import type { TrainingConfig } from '../src/core/training';

// A trial paused at rungs and continued from its checkpoints is the same
// run as one trained straight through: same batches, weights, optimizer
// moments and scheme state, for every scheme.

let dataset: Dataset;
let fakeLogits: Float32Array;

before(async () => {
  await useWasm();
  dataset = loadEmbeddedMnist({ dataDir: tempDir() });
  fakeLogits = labelLogits(dataset);
});

const training: TrainingConfig = { epochs: 3, batchSize: 32, learningRate: 0.003, temperature: 4, alpha: 0.7, scheme: 'offline', seed: 5, trainLimit: 256 };
const teacher = { spec: BUILTIN_TEACHER_SPEC, topology: {} };

function input(spec: unknown, scheme: TrainingConfig['scheme']): TrialInput {
  return { spec: parseStudentSpec(spec, 'test'), training: { ...training, scheme }, dataset, teacherLogits: fakeLogits, teacher, latencyEffort: 'quick' };
}

/** The trial in legs: paused after epoch 1 and 2, each checkpoint through a structured clone and the schema, as between processes. */
async function inLegs(base: TrialInput): Promise<{ legs: PausedTrial[]; result: TrialResult }> {
  const legs: PausedTrial[] = [];
  let resume;
  let latency;
  for (const stopAt of [1, 2]) {
    const leg = await runTrialLeg({ ...base, fidelity: { stopAt, resume, latency } });
    assert.ok('paused' in leg, `paused at epoch ${stopAt}`);
    legs.push(leg);
    resume = checkpointSchema.parse(structuredClone(leg.checkpoint));
    latency = { latencyMs: leg.metrics.latencyMs, latencyP10Ms: leg.metrics.latencyP10Ms, latencyP90Ms: leg.metrics.latencyP90Ms, latencyRuntime: leg.metrics.latencyRuntime };
  }
  const result = await runTrialLeg({ ...base, fidelity: { resume, latency } });
  assert.ok(!('paused' in result) && !('screened' in result));
  return { legs, result };
}

const cases: Array<[string, unknown, TrainingConfig['scheme']]> = [
  ['offline, a batch-normalized cnn', { kind: 'cnn', blocks: [{ filters: 4, kernel: 3, norm: true }, { op: 'sepconv', filters: 8, kernel: 3 }], dense: [16] }, 'offline'],
  ['offline, an int8 QAT mlp with dropout', { kind: 'mlp', hidden: [24], dropout: 0.3, precision: 'int8', qat: true }, 'offline'],
  ['online (the peer and its moments)', { kind: 'mlp', hidden: [16] }, 'online'],
  ['self (targets from the restored student)', { kind: 'cnn', blocks: [{ filters: 4, kernel: 3 }], dense: [] }, 'self'],
  ['self-exits (the exit heads)', { kind: 'cnn', blocks: [{ filters: 4, kernel: 3 }, { filters: 8, kernel: 3 }], dense: [] }, 'self-exits'],
];

for (const [name, spec, scheme] of cases) {
  test(`paused at rungs and continued = trained straight through: ${name}`, async () => {
    const baseline = tf.memory().numTensors;
    const base = input(spec, scheme);
    const straight = await runTrial(base);
    const { legs, result } = await inLegs(base);
    assert.deepEqual(
      [...legs.flatMap((l) => l.curve), ...result.curve].map((r) => [r.epoch, r.loss, r.kdLoss, r.ceLoss, r.valAccuracy]),
      straight.curve.map((r) => [r.epoch, r.loss, r.kdLoss, r.ceLoss, r.valAccuracy]),
    );
    assert.deepEqual(result.weights.map((w) => Array.from(w.data)), straight.weights.map((w) => Array.from(w.data)));
    const { latencyMs: _a, latencyP10Ms: _b, latencyP90Ms: _c, ...rest } = result.metrics;
    const { latencyMs: _d, latencyP10Ms: _e, latencyP90Ms: _f, ...straightRest } = straight.metrics;
    assert.deepEqual(rest, straightRest);
    assert.equal(legs[1].metrics.latencyMs, legs[0].metrics.latencyMs, "the first rung's latency is kept for the next");
    assert.equal(legs[1].curve[0].valAccuracy, straight.curve[1].valAccuracy, "the rung's accuracy is the epoch's");
    assert.equal(result.exits?.length, straight.exits?.length);
    assert.equal(tf.memory().numTensors, baseline);
  });
}

test('a checkpoint saved at a rung restores nowhere else: a leg past the epochs, or another student, is refused', async () => {
  const base = input({ kind: 'mlp', hidden: [16] }, 'offline');
  const leg = await runTrialLeg({ ...base, fidelity: { stopAt: 1 } });
  assert.ok('paused' in leg);
  await assert.rejects(runTrialLeg({ ...base, fidelity: { stopAt: 4, resume: leg.checkpoint } }), /from epoch 2 to 4 does not fit the candidate's 3 epochs/);
  await assert.rejects(runTrialLeg({ ...input({ kind: 'mlp', hidden: [8] }, 'offline'), fidelity: { resume: leg.checkpoint } }), /does not fit this student/);
});
