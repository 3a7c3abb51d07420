import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { conv2dBiasRelu } from '../src/kernels/FusedConv2D';
import { biasReluMaxPool } from '../src/kernels/KdBiasReluMaxPool';
import { canConvReluPool, convReluPool } from '../src/kernels/KdConvReluPool';
import { isWinogradConv } from '../src/shared/winograd';
import { setUpBackends } from './support/backends';
import { maxAbsDiff, testRng } from './support/random';

// The training forward runs each convolution with its bias and ReLU as one
// FusedConv2D kernel (Winograd with the epilogue fused, on wasm) and
// differentiates it with kdsearch's registered gradient. Checked against
// tfjs's three separate ops on the pure-JS cpu backend.

before(setUpBackends);

function normal(shape: number[], seed: number): tf.Tensor {
  const rng = testRng('fused-conv', seed);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng.normal()), shape);
}

interface Case {
  x: [number, number, number, number];
  w: [number, number, number, number];
  stride: number;
  pad: 'same' | 'valid';
  note: string;
}

/** y, dx, dw, db of sum(y * r) for y = relu(conv2d(x, w) + b), fused or as three ops. */
async function forwardAndGrads(c: Case, i: number, fused: boolean): Promise<Float32Array[]> {
  const x = normal(c.x, i) as tf.Tensor4D;
  const w = normal(c.w, 100 + i) as tf.Tensor4D;
  const b = normal([c.w[3]], 200 + i) as tf.Tensor1D;
  const f = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
    fused
      ? conv2dBiasRelu(xx as tf.Tensor4D, ww as tf.Tensor4D, bb as tf.Tensor1D, { strides: c.stride, pad: c.pad })
      : tf.relu(tf.add(tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, c.stride, c.pad), bb));
  const y = f(x, w, b);
  const r = normal(y.shape, 300 + i);
  const grads = tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(f(xx, ww, bb), r)))([x, w, b]);
  const out = await Promise.all([y, ...grads].map(async (t) => Float32Array.from(await t.data())));
  tf.dispose([x, w, b, y, r, ...grads]);
  return out;
}

const CASES: Case[] = [
  { x: [8, 14, 14, 16], w: [3, 3, 16, 32], stride: 1, pad: 'same', note: 'Winograd with the fused epilogue: several chunks of tiles' },
  { x: [3, 5, 6, 4], w: [3, 3, 4, 12], stride: 1, pad: 'same', note: 'Winograd, odd sizes: border tiles write part of their outputs' },
  { x: [2, 12, 12, 1], w: [3, 3, 1, 16], stride: 1, pad: 'same', note: "XNNPACK: a grey first layer" },
  { x: [2, 8, 8, 4], w: [1, 1, 4, 8], stride: 1, pad: 'valid', note: "XNNPACK: a separable block's pointwise" },
  { x: [2, 9, 9, 4], w: [3, 3, 4, 8], stride: 2, pad: 'same', note: 'XNNPACK: stride 2' },
];

test('relu(conv2d + bias) as one fused kernel: output and all three gradients match three separate ops on the cpu backend', async () => {
  const winograd = CASES.map((c) => isWinogradConv(tf.backend_util.computeConv2DInfo(c.x, c.w, c.stride, 1, c.pad)));
  assert.deepEqual(winograd, [true, true, false, false, false], 'which cases take the Winograd path');
  for (const [i, c] of CASES.entries()) {
    await tf.setBackend('cpu');
    const reference = await forwardAndGrads(c, i, false);
    const fusedOnCpu = await forwardAndGrads(c, i, true);
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const fusedOnWasm = await forwardAndGrads(c, i, true);
    assert.equal(tf.memory().numTensors, before, `${c.note}: tensors leaked`);
    ['y', 'dx', 'dw', 'db'].forEach((name, k) => {
      // dw and db sum over batch and pixels: a looser bound for their float32 sums
      const tolerance = k >= 2 ? 2e-3 : 1e-4;
      for (const [label, got] of [['cpu', fusedOnCpu], ['wasm', fusedOnWasm]] as const) {
        const err = maxAbsDiff(got[k], reference[k]);
        assert.ok(err <= tolerance, `${c.note}: fused on ${label}, ${name} max abs error ${err} > ${tolerance}`);
      }
    });
    assert.ok(reference[0].some((v) => v === 0) && reference[0].some((v) => v > 0), `${c.note}: the ReLU clips some outputs and passes others`);
  }
});

/** A small grid of values, so windows tie (in value and at ReLU's zero) as real activations do. */
function coarse(shape: number[], seed: number): tf.Tensor {
  const rng = testRng('fused-pool', seed);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => (rng.int(9) - 4) / 4), shape);
}

test('bias + ReLU + 2x2 max pool as one kernel (wasm): output, dz and db match tfjs\'s separate ops on the cpu backend, ties included', async () => {
  // [B, H, W, C]: even sizes; odd sizes, whose last row and column no window covers; one channel group
  for (const [i, shape] of ([[4, 8, 8, 8], [3, 7, 5, 12], [2, 2, 2, 4]] as const).entries()) {
    const run = async (fused: boolean) => {
      const z = coarse([...shape], i) as tf.Tensor4D;
      const bias = coarse([shape[3]], 50 + i) as tf.Tensor1D;
      const f = (zz: tf.Tensor, bb: tf.Tensor) =>
        fused ? biasReluMaxPool(zz as tf.Tensor4D, bb as tf.Tensor1D) : tf.maxPool(tf.relu(tf.add(zz, bb)) as tf.Tensor4D, 2, 2, 'valid');
      const y = f(z, bias);
      const r = normal(y.shape, 400 + i);
      const grads = tf.grads((zz: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(f(zz, bb), r)))([z, bias]);
      const out = await Promise.all([y, ...grads].map(async (t) => Float32Array.from(await t.data())));
      tf.dispose([z, bias, y, r, ...grads]);
      return out;
    };
    await tf.setBackend('cpu');
    const [y, dz, db] = await run(false);
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const [fy, fdz, fdb] = await run(true);
    assert.equal(tf.memory().numTensors, before, `[${shape}]: tensors leaked`);
    // the pool and the routing of each window's gradient are exact; only db's sum runs in another order
    assert.deepEqual(Array.from(fy, (v) => v + 0), Array.from(y, (v) => v + 0), `[${shape}]: pooled output`);
    assert.deepEqual(Array.from(fdz, (v) => v + 0), Array.from(dz, (v) => v + 0), `[${shape}]: dz`);
    assert.ok(maxAbsDiff(fdb, db) <= 1e-5, `[${shape}]: db max abs error ${maxAbsDiff(fdb, db)}`);
    assert.ok(dz.some((v) => v !== 0) && y.some((v) => v === 0), `[${shape}]: the case routes some gradient and clips some windows`);
    if (shape[1] % 2 === 1) assert.ok(fdz.every((v, k) => Math.floor(k / (shape[2] * shape[3])) % shape[1] !== shape[1] - 1 || v === 0), 'the uncovered last row gets no gradient');
  }
});

test("a first layer's convolution, bias, ReLU and 2x2 pool as one direct kernel (wasm): output and the input, filter and bias gradients are the cpu backend's separate ops' bits, ties included", async () => {
  // coarse values (multiples of 1/4) make every sum exact in any order, and windows tie
  const cases: { x: [number, number, number, number]; w: [number, number, number, number]; pad: 'same' | 'valid'; note: string }[] = [
    { x: [4, 8, 8, 1], w: [3, 3, 1, 16], pad: 'same', note: 'grey images, two pairs of channel groups' },
    { x: [3, 9, 7, 3], w: [5, 5, 3, 4], pad: 'same', note: 'RGB, 5x5, odd sizes (an uncovered row and column), one lone channel group' },
    { x: [2, 10, 9, 2], w: [3, 3, 2, 12], pad: 'valid', note: "'valid', a pair of groups and a lone one" },
    { x: [2, 6, 6, 1], w: [2, 2, 1, 8], pad: 'same', note: "an even filter: 'same' pads only the bottom and right" },
  ];
  for (const [i, c] of cases.entries()) {
    await tf.setBackend('wasm');
    // the kernel takes any multiple of 4 channels; training chooses it for multiples of 8
    assert.equal(canConvReluPool(c.w, { strides: 1 }), c.w[3] % 8 === 0, `${c.note}: whether training takes the direct kernel`);
    const run = async (direct: boolean) => {
      const x = coarse(c.x, 60 + i) as tf.Tensor4D;
      const w = coarse(c.w, 70 + i) as tf.Tensor4D;
      const b = coarse([c.w[3]], 80 + i) as tf.Tensor1D;
      const f = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
        direct
          ? convReluPool(xx as tf.Tensor4D, ww as tf.Tensor4D, bb as tf.Tensor1D, c.pad)
          : tf.maxPool(tf.relu(tf.add(tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 1, c.pad), bb)) as tf.Tensor4D, 2, 2, 'valid');
      const y = f(x, w, b);
      const r = coarse(y.shape, 90 + i);
      const grads = tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(f(xx, ww, bb), r)))([x, w, b]);
      const out = await Promise.all([y, ...grads].map(async (t) => Array.from(await t.data(), (v) => v + 0)));
      tf.dispose([x, w, b, y, r, ...grads]);
      return out;
    };
    await tf.setBackend('cpu');
    const reference = await run(false);
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const got = await run(true);
    assert.equal(tf.memory().numTensors, before, `${c.note}: tensors leaked`);
    ['pooled output', 'dx', 'dw', 'db'].forEach((what, k) => assert.deepEqual(got[k], reference[k], `${c.note}: ${what}`));
    assert.ok(reference[0].some((v) => v === 0) && reference[2].some((v) => v !== 0), `${c.note}: the case clips some windows and routes some gradient`);
  }
  await tf.setBackend('wasm');
  for (const [w, geometry] of [[[3, 3, 4, 16], { strides: 1 }], [[3, 3, 1, 6], { strides: 1 }], [[3, 3, 1, 12], { strides: 1 }], [[3, 3, 1, 16], { strides: 2 }], [[3, 3, 1, 16], { strides: 1, dilationRate: 2 }]] as const) {
    assert.equal(canConvReluPool(w, geometry), false, `${JSON.stringify({ w, geometry })} goes to the separate kernels`);
  }
});

test('the FusedConv2D gradient refuses an activation it does not implement, by code', async () => {
  await tf.setBackend('cpu');
  const x = tf.ones([1, 3, 3, 1]);
  const w = tf.ones([1, 1, 1, 1]);
  assert.throws(
    () =>
      tf.grad((ww: tf.Tensor) =>
        tf.sum(tf.engine().runKernel('FusedConv2D', { x, filter: ww }, { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1, activation: 'elu' }) as tf.Tensor),
      )(w),
    (err: unknown) => (err as { code?: string }).code === 'INTERNAL' && /linear and relu/.test((err as Error).message),
  );
  tf.dispose([x, w]);
});
