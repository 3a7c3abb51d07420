import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { crossEntropy, kdLoss, kdLossWithStats, softKl } from '../src/distill/loss';
import { capabilities } from '@kdsearch/wasm-train-kernels';
import { useWasm } from './support/helpers';

before(useWasm);

// Hand-computed reference, in plain JS and float64, written from the formula.
function softmax(z: number[], T: number): number[] {
  const m = Math.max(...z.map((v) => v / T));
  const e = z.map((v) => Math.exp(v / T - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

const student = [
  [2.0, 1.0, 0.1],
  [0.5, 2.5, -1.0],
];
const teacher = [
  [3.0, 0.5, -0.5],
  [0.0, 4.0, 1.0],
];
const labels = [0, 1];

function expected(T: number, alpha: number) {
  let kl = 0;
  let ce = 0;
  for (let i = 0; i < 2; i++) {
    const pt = softmax(teacher[i], T);
    const ps = softmax(student[i], T);
    kl += pt.reduce((a, p, k) => a + p * Math.log(p / ps[k]), 0);
    ce += -Math.log(softmax(student[i], 1)[labels[i]]);
  }
  kl /= 2;
  ce /= 2;
  return { kl, ce, total: alpha * T * T * kl + (1 - alpha) * ce };
}

async function computed(T: number, alpha: number) {
  const s = tf.tensor2d(student);
  const t = tf.tensor2d(teacher);
  const y = tf.tensor1d(labels, 'int32');
  const parts = kdLoss(s, t, y, { temperature: T, alpha });
  const out = { total: (await parts.total.data())[0], kl: (await parts.kl.data())[0], ce: (await parts.ce.data())[0] };
  tf.dispose([s, t, y, parts.total, parts.kl, parts.ce]);
  return out;
}

test('cross-entropy matches -log softmax of the label, by hand', async () => {
  // Row 1: logits [2, 1, 0.1], label 0: -log(e^2 / (e^2 + e^1 + e^0.1)) = 0.41703
  const ce = crossEntropy(tf.tensor2d([student[0]]), tf.tensor1d([0], 'int32'));
  assert.ok(Math.abs((await ce.data())[0] - 0.417029) < 1e-5);
});

test('KL of identical logits is zero, and positive otherwise', async () => {
  const same = softKl(tf.tensor2d(student), tf.tensor2d(student), 3);
  assert.ok(Math.abs((await same.data())[0]) < 1e-6);
  const differ = softKl(tf.tensor2d(student), tf.tensor2d(teacher), 3);
  assert.ok((await differ.data())[0] > 0.01);
});

for (const [T, alpha] of [
  [1, 0.5],
  [4, 0.7],
  [2, 0.9],
  [10, 0.3],
]) {
  test(`KD loss at T=${T}, alpha=${alpha} matches the hand-computed value`, async () => {
    const got = await computed(T, alpha);
    const want = expected(T, alpha);
    assert.ok(Math.abs(got.kl - want.kl) < 1e-5, `kl ${got.kl} vs ${want.kl}`);
    assert.ok(Math.abs(got.ce - want.ce) < 1e-5, `ce ${got.ce} vs ${want.ce}`);
    assert.ok(Math.abs(got.total - want.total) < 1e-4 * Math.max(1, want.total), `total ${got.total} vs ${want.total}`);
  });
}

test('alpha = 0 is plain cross-entropy (the from-scratch baseline)', async () => {
  const got = await computed(4, 0);
  assert.ok(Math.abs(got.total - expected(4, 0).ce) < 1e-5);
  assert.equal(got.kl, 0);
});

test('without a teacher the loss is plain cross-entropy whatever alpha is (both paths agree)', async () => {
  const s = tf.tensor2d(student);
  const y = tf.tensor1d(labels, 'int32');
  const parts = kdLoss(s, undefined, y, { temperature: 4, alpha: 0.7 });
  assert.ok(Math.abs((await parts.total.data())[0] - expected(4, 0).ce) < 1e-5);
  assert.equal((await parts.kl.data())[0], 0);
  tf.dispose([s, y, parts.total, parts.kl, parts.ce]);
});

test('alpha = 1 is T^2 times the KL term only', async () => {
  const got = await computed(4, 1);
  const want = expected(4, 1);
  assert.ok(Math.abs(got.total - 16 * want.kl) < 1e-4, `${got.total} vs ${16 * want.kl}`);
});

test('the T^2 factor keeps the soft gradient scale independent of T', async () => {
  // Without T^2 the soft gradient shrinks like 1/T^2 (100x from T=5 to T=50); with it, it stays put.
  const gradNorm = async (T: number) => {
    const g = tf.grad((s: tf.Tensor) => kdLoss(s as tf.Tensor2D, tf.tensor2d(teacher), tf.tensor1d(labels, 'int32'), { temperature: T, alpha: 1 }).total);
    return (await tf.norm(g(tf.tensor2d(student))).data())[0];
  };
  const ratio = (await gradNorm(5)) / (await gradNorm(50));
  assert.ok(ratio > 0.5 && ratio < 2, `gradient norm ratio T=5 / T=50 is ${ratio}`);
});

test('the loss leaks no tensors', async () => {
  const baseline = tf.memory().numTensors;
  await computed(4, 0.7);
  assert.equal(tf.memory().numTensors, baseline);
});

// The fused loss (one wasm kernel for value and gradient) against the hand-computed
// values and against the op-by-op loss's gradient (tf.grad through kdLoss).
for (const [T, alpha] of [
  [4, 0.7],
  [1, 0.5],
  [10, 0.3],
  [4, 1],
]) {
  test(`fused KD loss at T=${T}, alpha=${alpha}: values by hand, gradient as the op-by-op loss`, async () => {
    assert.equal(tf.getBackend(), 'wasm');
    assert.ok(capabilities().active && tf.getKernel('KdDistillLoss', 'wasm'), 'the fused kernel is registered and active');
    const baseline = tf.memory().numTensors;
    const s = tf.tensor2d(student);
    const t = tf.tensor2d(teacher);
    const y = tf.tensor1d(labels, 'int32');
    const { total, stats } = kdLossWithStats(s, t, y, { temperature: T, alpha });
    const [st, kl, ce] = Array.from(await stats.data());
    const want = expected(T, alpha);
    assert.ok(Math.abs(kl - want.kl) < 1e-6, `kl ${kl} vs ${want.kl}`);
    assert.ok(Math.abs(ce - want.ce) < 1e-6, `ce ${ce} vs ${want.ce}`);
    assert.ok(Math.abs(st - want.total) < 1e-5 * Math.max(1, want.total), `total ${st} vs ${want.total}`);
    assert.equal((await total.data())[0], st);
    const fused = tf.grad((x: tf.Tensor) => kdLossWithStats(x as tf.Tensor2D, t, y, { temperature: T, alpha }).total)(s);
    const reference = tf.grad((x: tf.Tensor) => kdLoss(x as tf.Tensor2D, t, y, { temperature: T, alpha }).total)(s);
    const a = await fused.data();
    const b = await reference.data();
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-6, `gradient[${i}] ${a[i]} vs ${b[i]}`);
    assert.ok(Math.max(...Array.from(b, Math.abs)) > 1e-3, 'the gradient is not trivially zero');
    tf.dispose([s, t, y, total, stats, fused, reference]);
    assert.equal(tf.memory().numTensors, baseline);
  });
}

test('fused KD loss without a teacher is plain cross-entropy, with its gradient', async () => {
  const s = tf.tensor2d(student);
  const y = tf.tensor1d(labels, 'int32');
  const [total, kl, ce] = Array.from(await kdLossWithStats(s, undefined, y, { temperature: 4, alpha: 0.7 }).stats.data());
  assert.ok(Math.abs(ce - expected(4, 0).ce) < 1e-6);
  assert.equal(kl, 0);
  assert.ok(Math.abs(total - ce) < 1e-7);
  const fused = await tf.grad((x: tf.Tensor) => kdLossWithStats(x as tf.Tensor2D, undefined, y, { temperature: 4, alpha: 0.7 }).total)(s).data();
  const reference = await tf.grad((x: tf.Tensor) => crossEntropy(x as tf.Tensor2D, y))(s).data();
  for (let i = 0; i < fused.length; i++) assert.ok(Math.abs(fused[i] - reference[i]) < 1e-6, `gradient[${i}] ${fused[i]} vs ${reference[i]}`);
});
