import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadEmbeddedMnist } from '../src/datasets/mnist-embedded';
import type { Dataset } from '../src/datasets/types';
import { runTrial } from '../src/distill/trial';
import { errorCodeOf } from '../src/core/errors';
import { BUILTIN_TEACHER_SPEC } from '../src/model/teacher-arch';
import { parseStudentSpec } from '../src/space/student';
import { labelLogits, tempDir, useWasm } from './support/helpers';
import type { TrainingConfig } from '../src/core/training';

let dataset: Dataset;
let fakeLogits: Float32Array;

before(async () => {
  await useWasm();
  dataset = loadEmbeddedMnist({ dataDir: tempDir() });
  fakeLogits = labelLogits(dataset);
});

const quick: TrainingConfig = { epochs: 3, batchSize: 32, learningRate: 0.003, temperature: 4, alpha: 0.7, scheme: 'offline', seed: 3, trainLimit: 320 };
const teacher = { spec: BUILTIN_TEACHER_SPEC, topology: {} };

test('several epochs of conv and separable students leave tf.memory().numTensors at its baseline', async () => {
  const baseline = tf.memory().numTensors;
  for (const spec of [
    { kind: 'cnn', blocks: [{ filters: 4, kernel: 3 }, { op: 'sepconv', filters: 8, kernel: 3 }], dense: [16] },
    { kind: 'mlp', hidden: [32], precision: 'int8' },
  ]) {
    const result = await runTrial({ spec: parseStudentSpec(spec, 'test'), training: quick, dataset, teacherLogits: fakeLogits, teacher });
    assert.equal(result.curve.length, 3);
    assert.equal(tf.memory().numTensors, baseline, `after ${spec.kind}`);
  }
});

test('a trial learns, and its metrics follow their definitions', async () => {
  const result = await runTrial({
    spec: parseStudentSpec({ kind: 'mlp', hidden: [64], precision: 'int8' }, 'test'),
    training: { ...quick, epochs: 4, trainLimit: 1000 },
    dataset,
    teacherLogits: fakeLogits,
    teacher,
  });
  const m = result.metrics;
  assert.ok(result.curve[3].loss < result.curve[0].loss, 'loss falls');
  assert.ok(m.floatAccuracy > 0.8, `accuracy ${m.floatAccuracy} after 4 epochs on 1000 digits`);
  assert.ok(Math.abs(m.accuracy - m.floatAccuracy) < 0.02, 'int8 costs little accuracy');
  assert.equal(m.params, 784 * 64 + 64 + 64 * 10 + 10);
  assert.equal(m.macs, 784 * 64 + 64 * 10);
  assert.equal(m.sizeBytes, m.params + 4 * 4, 'one byte per weight + a float32 scale per tensor');
  assert.ok(m.latencyMs > 0 && m.latencyP10Ms <= m.latencyMs && m.latencyMs <= m.latencyP90Ms);
  assert.equal(result.weights.length, 4);
  assert.ok(result.weights.every((w) => w.precision === 'int8' && w.data instanceof Int8Array));
});

test('the same seed gives the same training run', async () => {
  const spec = parseStudentSpec({ kind: 'cnn', blocks: [{ filters: 4, kernel: 3 }] }, 'test');
  const a = await runTrial({ spec, training: { ...quick, epochs: 2 }, dataset, teacherLogits: fakeLogits, teacher });
  const b = await runTrial({ spec, training: { ...quick, epochs: 2 }, dataset, teacherLogits: fakeLogits, teacher });
  assert.deepEqual(
    a.curve.map((r) => [r.loss, r.valAccuracy]),
    b.curve.map((r) => [r.loss, r.valAccuracy]),
  );
  const c = await runTrial({ spec, training: { ...quick, epochs: 2, seed: 4 }, dataset, teacherLogits: fakeLogits, teacher });
  assert.notEqual(c.curve[0].loss, a.curve[0].loss);
});

test('a diverging run fails with TRIAL_DIVERGED instead of reporting NaN', async () => {
  const baseline = tf.memory().numTensors;
  await assert.rejects(
    runTrial({
      spec: parseStudentSpec({ kind: 'mlp', hidden: [32] }, 'test'),
      training: { ...quick, epochs: 2 },
      dataset,
      teacherLogits: fakeLogits.map((v, i) => (i % 10 === 3 ? NaN : v)), // a broken teacher
      teacher,
    }),
    (e) => errorCodeOf(e) === 'TRIAL_DIVERGED',
  );
  assert.equal(tf.memory().numTensors, baseline);
});

test('online distillation trains the student and the teacher-side network together', async () => {
  const baseline = tf.memory().numTensors;
  const result = await runTrial({
    spec: parseStudentSpec({ kind: 'mlp', hidden: [32] }, 'test'),
    training: { ...quick, scheme: 'online', epochs: 2, trainLimit: 640 },
    dataset,
    teacher: { spec: parseStudentSpec({ kind: 'mlp', hidden: [64] }, 'peer') as never, topology: {} },
  });
  assert.equal(result.curve.length, 2);
  assert.ok(result.metrics.accuracy > 0.6, `student ${result.metrics.accuracy}`);
  assert.ok(result.metrics.peerAccuracy! > 0.6, `peer ${result.metrics.peerAccuracy}`);
  assert.ok(result.curve[1].kdLoss > 0, 'the student learns from the peer');
  assert.equal(tf.memory().numTensors, baseline);
});

test('self-distillation: the first epoch learns from labels, later ones from the previous epoch too', async () => {
  const baseline = tf.memory().numTensors;
  const result = await runTrial({
    spec: parseStudentSpec({ kind: 'mlp', hidden: [32] }, 'test'),
    training: { ...quick, scheme: 'self', epochs: 3, trainLimit: 640 },
    dataset,
    teacher,
  });
  assert.equal(result.curve[0].kdLoss, 0, 'no targets in epoch 1');
  assert.ok(result.curve[2].kdLoss > 0, 'own predictions are targets later');
  assert.ok(result.metrics.accuracy > 0.6);
  assert.equal(result.metrics.peerAccuracy, undefined);
  assert.equal(tf.memory().numTensors, baseline);
});

test('quantization-aware training: the stored int8 student scores what the fake-quantized one did', async () => {
  const baseline = tf.memory().numTensors;
  for (const quantization of ['per-tensor', 'per-channel'] as const) {
    const result = await runTrial({
      spec: parseStudentSpec({ kind: 'cnn', blocks: [{ filters: 4, kernel: 3 }, { op: 'sepconv', filters: 8, kernel: 3 }], precision: 'int8', quantization, qat: true }, 'test'),
      training: { ...quick, epochs: 2, trainLimit: 640 },
      dataset,
      teacherLogits: fakeLogits,
      teacher,
    });
    const fakeQuantized = result.curve[result.curve.length - 1].valAccuracy;
    assert.ok(Math.abs(result.metrics.accuracy - fakeQuantized) <= 0.002, `${quantization}: stored ${result.metrics.accuracy} vs trained ${fakeQuantized}`);
    assert.ok(result.metrics.accuracy > 0.5);
  }
  assert.equal(tf.memory().numTensors, baseline);
});

test('fake quantization passes the gradient straight through', async () => {
  const { fakeQuantizer } = await import('../src/distill/fake-quant');
  const fq = fakeQuantizer({ precision: 'int8', quantization: 'per-tensor', qat: true }, false);
  const w = tf.tensor1d([-1, -0.3, 0.0049, 0.5, 1]);
  const value = Array.from(await fq(w).data());
  // The symmetric grid of post-training quantization: step max|w| / 127 = 1/127, codes -127..127; by hand:
  // -1 -> -127, -0.3 -> round(-38.1) = -38, 0.0049 -> round(0.6223) = 1, 0.5 -> round(63.5) = 64, 1 -> 127.
  const want = [-127, -38, 1, 64, 127].map((q) => q / 127);
  value.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-6, `${v} vs ${want[i]}`));
  const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(fq(x), tf.tensor1d([1, 2, 3, 4, 5]))));
  assert.deepEqual(Array.from(await g(w).data()), [1, 2, 3, 4, 5]);
});
