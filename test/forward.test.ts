import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { errorCodeOf } from '../src/core/errors';
import { studentForward } from '../src/distill/forward';
import { initBackend } from '../src/model/backend';
import { buildModel } from '../src/model/build';
import { parseStudentSpec } from '../src/space/student';
import type { ConcreteSpec } from '../src/space/student';
import { createRng } from '../src/core/rng';
import { maxAbsDiff } from './support/helpers';

// The training forward replays a student's layers with the wasm training
// kernels' fused ops (FusedConv2D with its bias and ReLU, KdBiasReluMaxPool,
// KdConvReluPool) and must give model.apply's logits and gradients; the
// kernels themselves are tested in packages/wasm-train-kernels.

before(async () => {
  await initBackend('wasm');
  await initBackend('cpu');
});

function normal(shape: number[], seed: number): tf.Tensor {
  const rng = createRng('fused-conv', seed);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng.normal()), shape);
}

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
