import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { setUpBackends } from './support/backends';
import { maxAbsDiff, testRng } from './support/random';

/** Stated tolerance: float32 sums of up to a few thousand products. */
const TOLERANCE = 1e-3;

before(setUpBackends);

type Pad = 'same' | 'valid' | number;

interface Case {
  batch: number;
  size: [number, number];
  inC: number;
  outC: number; // channel multiplier for depthwise
  kernel: [number, number];
  stride: number;
  pad: Pad;
}

function randomCases(seed: number, count: number, depthwise: boolean): Case[] {
  const rng = testRng('kernel-cases', seed, depthwise ? 'dw' : 'conv');
  const pads: Pad[] = ['same', 'valid'];
  return Array.from({ length: count }, () => ({
    batch: 1 + rng.int(3),
    size: [5 + rng.int(8), 5 + rng.int(8)] as [number, number],
    inC: 1 + rng.int(4),
    outC: depthwise ? 1 + rng.int(2) : 1 + rng.int(5),
    kernel: [1 + rng.int(4), 1 + rng.int(4)] as [number, number],
    stride: 1 + rng.int(3),
    pad: rng.pick(pads),
  }));
}

function randomArray(n: number, seed: number): Float32Array {
  const rng = testRng('values', seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}

/** Gradients of sum(conv(x, w) * r) wrt x and w on one backend, as plain arrays. */
async function convGrads(backend: string, c: Case, depthwise: boolean, seed: number) {
  await tf.setBackend(backend);
  const xShape: [number, number, number, number] = [c.batch, c.size[0], c.size[1], c.inC];
  const wShape: [number, number, number, number] = [c.kernel[0], c.kernel[1], c.inC, c.outC];
  const x = tf.tensor4d(randomArray(xShape.reduce((a, b) => a * b), seed), xShape);
  const w = tf.tensor4d(randomArray(wShape.reduce((a, b) => a * b), seed + 1), wShape);
  const forward = (xx: tf.Tensor4D, ww: tf.Tensor4D) =>
    depthwise ? tf.depthwiseConv2d(xx, ww, c.stride, c.pad) : tf.conv2d(xx, ww, c.stride, c.pad);
  const outShape = forward(x, w).shape;
  const r = tf.tensor(randomArray(outShape.reduce((a, b) => a * b), seed + 2), outShape);
  const grads = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(forward(xx as tf.Tensor4D, ww as tf.Tensor4D), r)));
  const [dx, dw] = grads([x, w]);
  const out = { dx: await dx.data(), dw: await dw.data(), dxShape: dx.shape, dwShape: dw.shape };
  tf.dispose([x, w, r, dx, dw]);
  return out;
}

function describeCase(c: Case): string {
  return `x[${c.batch},${c.size},${c.inC}] k${c.kernel.join('x')} out/mult ${c.outC} stride ${c.stride} pad ${c.pad}`;
}

for (const depthwise of [false, true]) {
  const name = depthwise ? 'DepthwiseConv2dNative' : 'Conv2D';
  test(`wasm ${name} gradients (input and filter) match the cpu backend within ${TOLERANCE} on 24 random shapes`, async () => {
    const cases = randomCases(7, 24, depthwise);
    let worst = 0;
    for (const [i, c] of cases.entries()) {
      if (c.pad === 'valid' && (c.size[0] < c.kernel[0] || c.size[1] < c.kernel[1])) continue;
      const cpu = await convGrads('cpu', c, depthwise, i * 10);
      const wasm = await convGrads('wasm', c, depthwise, i * 10);
      assert.deepEqual(wasm.dxShape, cpu.dxShape, describeCase(c));
      assert.deepEqual(wasm.dwShape, cpu.dwShape, describeCase(c));
      const err = Math.max(maxAbsDiff(wasm.dx, cpu.dx), maxAbsDiff(wasm.dw, cpu.dw));
      assert.ok(err < TOLERANCE, `${describeCase(c)}: max abs error ${err}`);
      worst = Math.max(worst, err);
    }
    await tf.setBackend('wasm');
    assert.ok(worst < TOLERANCE);
  });
}

test('wasm depthwise 3x3 filter gradient (the students\' separable blocks: SIMD, taps in registers) matches the cpu backend', async () => {
  const cases: Case[] = [
    { batch: 3, size: [14, 14], inC: 16, outC: 1, kernel: [3, 3], stride: 1, pad: 'same' },
    { batch: 2, size: [7, 9], inC: 8, outC: 1, kernel: [3, 3], stride: 1, pad: 'valid' },
    { batch: 2, size: [9, 8], inC: 4, outC: 1, kernel: [3, 3], stride: 2, pad: 'same' },
    { batch: 1, size: [3, 3], inC: 12, outC: 1, kernel: [3, 3], stride: 1, pad: 'valid' },
  ];
  for (const [i, c] of cases.entries()) {
    const cpu = await convGrads('cpu', c, true, 500 + i);
    const wasm = await convGrads('wasm', c, true, 500 + i);
    const err = Math.max(maxAbsDiff(wasm.dx, cpu.dx), maxAbsDiff(wasm.dw, cpu.dw));
    assert.ok(err < TOLERANCE, `${describeCase(c)}: max abs error ${err}`);
  }
});

test('the registered kernels are the project\'s, and leak no tensors', async () => {
  await tf.setBackend('wasm');
  for (const k of ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput']) {
    assert.ok(tf.getKernel(k, 'wasm'), `${k} registered for wasm`);
  }
  const before = tf.memory().numTensors;
  const x = tf.ones([2, 8, 8, 3]) as tf.Tensor4D;
  const w = tf.ones([3, 3, 3, 4]) as tf.Tensor4D;
  const g = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 2, 'same')));
  const [dx, dw] = g([x, w]);
  tf.dispose([x, w, dx, dw]);
  assert.equal(tf.memory().numTensors, before);
});
