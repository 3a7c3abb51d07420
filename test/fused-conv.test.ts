import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { errorCodeOf } from '../src/core/errors';
import { studentForward } from '../src/distill/forward';
import { initBackend } from '../src/model/backend';
import { buildModel } from '../src/model/build';
import { biasReluMaxPool, canConvReluPool, conv2dBiasRelu, convReluPool } from '../src/model/fused-conv';
import { isWinogradConv } from '../src/model/wasm-kernels/winograd';
import { parseStudentSpec } from '../src/space/student';
import type { ConcreteSpec } from '../src/space/student';
import { createRng } from '../src/core/rng';
import { maxAbsDiff } from './support/helpers';

// The training forward runs each convolution with its bias and ReLU as one
// FusedConv2D kernel (Winograd with the epilogue fused, on wasm) and
// differentiates it with kdsearch's registered gradient. Checked against
// tfjs's three separate ops on the pure-JS cpu backend.

before(async () => {
  await initBackend('wasm');
  await initBackend('cpu');
});

function normal(shape: number[], seed: number): tf.Tensor {
  const rng = createRng('fused-conv', seed);
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
  const rng = createRng('fused-pool', seed);
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

const FAMILIES: Record<string, unknown> = {
  'small CNN': { kind: 'cnn', blocks: [{ filters: 8, kernel: 3, pool: true }, { filters: 16, kernel: 3, pool: true }], dense: [16] },
  'separable CNN': { kind: 'cnn', blocks: [{ filters: 8, kernel: 3, pool: true }, { op: 'sepconv', filters: 16, kernel: 3, pool: true }, { op: 'sepconv', filters: 16, kernel: 3, padding: 'valid', pool: false }] },
  MLP: { kind: 'mlp', hidden: [32, 16] },
  'CNN with odd sizes and 6 channels': { kind: 'cnn', blocks: [{ filters: 8, kernel: 3, padding: 'valid', pool: true }, { filters: 6, kernel: 3, pool: true }, { filters: 8, kernel: 3, pool: true }] },
  'CNN over RGB images, 5x5 first layer': { kind: 'cnn', blocks: [{ filters: 16, kernel: 5, pool: true }, { filters: 8, kernel: 3, pool: true }] },
  'CNN with batch norm, average pooling and a global-average-pooling head': {
    kind: 'cnn',
    blocks: [{ filters: 8, kernel: 3, norm: true, pool: 'avg' }, { filters: 8, kernel: 3, pool: true }, { op: 'sepconv', filters: 12, kernel: 3, norm: true, pool: false }],
    head: 'gap',
    dense: [16],
    denseNorm: true,
  },
  'MLP with batch norm': { kind: 'mlp', hidden: [32, 16], denseNorm: true },
};
/** Input channels of each family's images: grey, but for the RGB one. */
const CHANNELS = [1, 1, 1, 1, 3, 1, 1];

/** A born-again student of a user's teacher may hold layers kdsearch never builds. */
function userTopology(): tf.LayersModel {
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [12, 12, 1], filters: 4, kernelSize: 3, activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) }));
  model.add(tf.layers.batchNormalization());
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.glorotUniform({ seed: 6 }) }));
  return model;
}

/**
 * Each model, and how many FusedConv2D, KdBiasReluMaxPool and KdConvReluPool
 * kernels its training forward runs on wasm and on cpu: every replayed conv
 * fuses its bias and ReLU; on wasm its 2x2 pool too when channels are a
 * multiple of 4, and a pooled first layer over grey or RGB images with
 * filters a multiple of 8 is one direct kernel.
 */
type Fusions = Record<'wasm' | 'cpu', [number, number, number]>;
const FUSIONS: Fusions[] = [
  { wasm: [0, 1, 1], cpu: [2, 0, 0] },
  { wasm: [1, 1, 1], cpu: [3, 0, 0] },
  { wasm: [0, 0, 0], cpu: [0, 0, 0] },
  { wasm: [1, 1, 1], cpu: [3, 0, 0] }, // 12 -> 10 -> pool 5 -> pool 2 (odd), 6 channels pool apart, 2 -> pool 1
  { wasm: [0, 1, 1], cpu: [2, 0, 0] },
  { wasm: [0, 1, 0], cpu: [1, 0, 0] }, // only the block without batch norm has a bias to fuse
  { wasm: [0, 0, 0], cpu: [0, 0, 0] },
];
const MODELS: [string, () => tf.LayersModel, Fusions, number][] = [
  ...Object.entries(FAMILIES).map(([name, raw], i): [string, () => tf.LayersModel, Fusions, number] => [
    name,
    () => buildModel(parseStudentSpec(raw, name) as ConcreteSpec, { inputShape: [12, 12, CHANNELS[i]], numClasses: 10, seed: 3 }),
    FUSIONS[i],
    CHANNELS[i],
  ]),
  ["a user's topology (a tanh convolution): model.apply, whose Conv2D fuses its bias", userTopology, { wasm: [1, 0, 0], cpu: [1, 0, 0] }, 1],
];

for (const backend of ['wasm', 'cpu']) {
  test(`the training forward gives model.apply's logits and gradients, fusing every conv it replays, leaking nothing (${backend})`, async () => {
    await tf.setBackend(backend);
    for (const [name, make, fusions, channels] of MODELS) {
      const model = make();
      const x = tf.abs(normal([6, 12, 12, channels], 7));
      const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const forward = studentForward(model);
      const before = tf.memory().numTensors;
      const run = async (f: () => tf.Tensor) => {
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(f())) as tf.Scalar, vars);
        const out = await Promise.all([value, ...vars.map((v) => grads[v.name])].map(async (t) => Float32Array.from(await t.data())));
        tf.dispose([value, ...Object.values(grads)]);
        return out;
      };
      const reference = await run(() => model.apply(x, { training: true }) as tf.Tensor);
      const replay = await run(() => forward(x, true));
      assert.equal(tf.memory().numTensors, before, `${name}: tensors leaked`);
      assert.equal(replay.length, reference.length);
      reference.forEach((ref, k) => {
        const scale = Math.max(1, ...Array.from(ref, Math.abs));
        const err = maxAbsDiff(replay[k], ref) / scale;
        assert.ok(err <= 1e-5, `${name}: ${k === 0 ? 'loss' : `gradient of ${vars[k - 1].name}`} relative error ${err}`);
      });
      const profile = await tf.profile(() => {
        tf.tidy(() => {
          tf.variableGrads(() => tf.sum(forward(x, true)) as tf.Scalar, vars);
        });
      });
      const count = (kernel: string) => profile.kernels.filter((k) => k.name === kernel).length;
      assert.deepEqual(
        [count('FusedConv2D'), count('KdBiasReluMaxPool'), count('KdConvReluPool')],
        fusions[backend as 'wasm' | 'cpu'],
        `${name}: fused convolutions, fused pools, direct first layers`,
      );
      tf.dispose([x]);
      model.dispose();
    }
  });
}

for (const backend of ['wasm', 'cpu']) {
  test(`batch norm in the training forward moves its statistics as model.apply does, and the inference forward uses them (${backend})`, async () => {
    await tf.setBackend(backend);
    const spec = parseStudentSpec(FAMILIES['CNN with batch norm, average pooling and a global-average-pooling head'], 'bn') as ConcreteSpec;
    const make = () => buildModel(spec, { inputShape: [12, 12, 1], numClasses: 10, seed: 3 });
    const x = tf.abs(normal([6, 12, 12, 1], 9));
    const moving = (m: tf.LayersModel) => m.weights.filter((w) => /moving_/.test(w.originalName)).map((w) => Float32Array.from(w.read().dataSync()));
    const byApply = make();
    const byReplay = make();
    const initial = moving(byApply);
    tf.dispose(byApply.apply(x, { training: true }) as tf.Tensor);
    const forward = studentForward(byReplay);
    const before = tf.memory().numTensors;
    tf.dispose(tf.tidy(() => forward(x, true)));
    assert.equal(tf.memory().numTensors, before, 'tensors leaked by the statistics update');
    const [expected, got] = [moving(byApply), moving(byReplay)];
    assert.equal(got.length, 6, 'three norms, two moving vectors each');
    got.forEach((g, k) => {
      assert.ok(maxAbsDiff(g, expected[k]) <= 1e-5, `moving statistic ${k}`);
      assert.ok(maxAbsDiff(g, initial[k]) > 1e-3, `moving statistic ${k} moved`);
    });
    const inference = forward(x, false);
    const predicted = byReplay.predict(x) as tf.Tensor;
    assert.ok(maxAbsDiff(inference.dataSync(), predicted.dataSync()) <= 1e-5, 'inference forward against model.predict');
    tf.dispose([x, inference, predicted]);
    byApply.dispose();
    byReplay.dispose();
  });
}

test('quantization-aware training refuses, up front, a topology the replay does not cover', () => {
  const model = userTopology();
  assert.throws(
    () => studentForward(model, { precision: 'int8', quantization: 'per-tensor', qat: true }),
    (err: unknown) => errorCodeOf(err) === 'SPEC_INVALID' && /Conv2D with activation "tanh"/.test((err as Error).message),
  );
  model.dispose();
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
    (err: unknown) => errorCodeOf(err) === 'INTERNAL' && /linear and relu/.test((err as Error).message),
  );
  tf.dispose([x, w]);
});
