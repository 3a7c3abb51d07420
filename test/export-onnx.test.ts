import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import type { Precision, Quantization } from '../src/core/precision';
import { buildModel } from '../src/model/build';
import { ONNX_IR_VERSION, ONNX_OPSET, exportOnnx } from '../src/model/export-onnx';
import { onnxArchitecture } from '../src/model/onnx-architecture';
import { dequantizeWeight } from '../src/model/quantize';
import { quantizeModel } from '../src/model/quantize-model';
import { BUILTIN_TEACHER_SPEC } from '../src/model/teacher-arch';
import { packWeights } from '../src/model/weights-pack';
import { express } from '../src/space/candidate';
import { parseStudentSpec } from '../src/space/student';
import type { ConcreteSpec } from '../src/space/student';
import { useWasm } from './support/helpers';

before(useWasm);

const storage = { precision: 'float32' as Precision, quantization: 'per-tensor' as Quantization, qat: false };
/** One student of every family kdsearch builds, as specs. */
const FAMILIES: Record<string, { spec: ConcreteSpec; inputShape: number[] }> = {
  mlp: { spec: express({ family: 'mlp', units: [32, 16] }, storage, undefined) as ConcreteSpec, inputShape: [28, 28, 1] },
  cnn: { spec: express({ family: 'cnn', blocks: [{ filters: 8, kernel: 4 }, { filters: 8, kernel: 5 }], dense: 16 }, storage, undefined) as ConcreteSpec, inputShape: [28, 28, 1] },
  separable: { spec: express({ family: 'separable', blocks: [{ filters: 4, kernel: 3 }, { filters: 8, kernel: 3 }], dense: 0 }, storage, undefined) as ConcreteSpec, inputShape: [12, 12, 3] },
  'teacher-copy': { spec: express({ family: 'teacher-copy', depth: 0.5, width: 0.25 }, storage, BUILTIN_TEACHER_SPEC) as ConcreteSpec, inputShape: [28, 28, 1] },
  'born-again': { spec: BUILTIN_TEACHER_SPEC, inputShape: [28, 28, 1] },
  'cnn with batch norm, average pooling and a global-average-pooling head': {
    spec: parseStudentSpec(
      { kind: 'cnn', blocks: [{ filters: 8, kernel: 3, norm: true, pool: 'avg' }, { op: 'sepconv', filters: 8, kernel: 3, norm: true, padding: 'valid' }], head: 'gap', dense: [16], denseNorm: true },
      'test',
    ) as ConcreteSpec,
    inputShape: [13, 13, 3],
  },
  'mlp with batch norm': { spec: parseStudentSpec({ kind: 'mlp', hidden: [24], denseNorm: true }, 'test') as ConcreteSpec, inputShape: [28, 28, 1] },
};

/**
 * Batch norms as training leaves them, not the identity they start as: a
 * swapped mean and variance, or a missing epsilon, changes the logits.
 */
function trainedNorms(model: tf.LayersModel): void {
  tf.tidy(() => {
  const values = model.weights.map((w, i) => {
    const t = model.getWeights()[i];
    const name = w.originalName;
    if (!/batch_normalization/.test(name)) return t;
    const v = new Float32Array(t.size).map((_, k) => Math.sin(k * 1.7 + name.length));
    return tf.tensor(/moving_variance|gamma/.test(name) ? v.map((u) => 1.2 + u) : v, t.shape);
  });
  model.setWeights(values);
  });
}

/** A stored student as the search stores it, its inputs, and kdsearch's own logits with the stored (quantized) weights. */
function stored(spec: ConcreteSpec, inputShape: number[], precision: Precision, quantization: Quantization) {
  const model = buildModel(spec, { inputShape, numClasses: 10, seed: 3 });
  trainedNorms(model);
  const weights = quantizeModel(model, { precision, quantization });
  const dequantized = weights.map((w) => tf.tensor(dequantizeWeight(w), w.shape));
  model.setWeights(dequantized);
  tf.dispose(dequantized);
  const n = 6;
  const size = inputShape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(n * size).map((_, i) => ((i * 7919) % 251) / 251);
  const logits = tf.tidy(() => (model.predict(tf.tensor(x, [n, ...inputShape])) as tf.Tensor).dataSync() as Float32Array);
  const { manifest, buffer } = packWeights(weights);
  const topology = model.toJSON(null, false) as unknown as Record<string, unknown>;
  model.dispose();
  return { topology, manifest, data: new Uint8Array(buffer), x, n, logits };
}

/** NHWC samples as NCHW. */
function toNchw(x: Float32Array, n: number, [h, w, c]: number[]): Float32Array {
  const out = new Float32Array(x.length);
  for (let s = 0; s < n; s++) for (let p = 0; p < h * w; p++) for (let k = 0; k < c; k++) out[s * h * w * c + k * h * w + p] = x[s * h * w * c + p * c + k];
  return out;
}

async function runOnnx(bytes: Uint8Array, x: Float32Array, dims: number[]): Promise<Float32Array> {
  // The basic level: onnxruntime's full optimiser may fuse kernels into ones that round differently.
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'basic', intraOpNumThreads: 1 });
  try {
    const out = await session.run({ input: new ort.Tensor('float32', x, dims) });
    return out.logits.data as Float32Array;
  } finally {
    await session.release();
  }
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

for (const [family, { spec, inputShape }] of Object.entries(FAMILIES)) {
  for (const [precision, quantization] of [['float32', 'per-tensor'], ['float16', 'per-tensor'], ['int8', 'per-tensor'], ['int8', 'per-channel']] as const) {
    test(`ONNX export, ${family} at ${precision}${precision === 'int8' ? ` ${quantization}` : ''}: onnxruntime gives kdsearch's logits, NHWC and NCHW`, async () => {
      const s = stored(spec, inputShape, precision, quantization);
      const nhwc = exportOnnx({ topology: s.topology, manifest: s.manifest, data: s.data, inputShape });
      const got = await runOnnx(nhwc.model, s.x, [s.n, ...inputShape]);
      assert.ok(maxDiff(got, s.logits) <= 1e-4, `NHWC: max abs difference ${maxDiff(got, s.logits)}`);
      const nchw = exportOnnx({ topology: s.topology, manifest: s.manifest, data: s.data, inputShape, layout: 'nchw' });
      const [h, w, c] = inputShape;
      const got2 = await runOnnx(nchw.model, toNchw(s.x, s.n, inputShape), [s.n, c, h, w]);
      assert.ok(maxDiff(got2, s.logits) <= 1e-4, `NCHW: max abs difference ${maxDiff(got2, s.logits)}`);
      const decoded = onnx.ModelProto.decode(nhwc.model);
      assert.equal(Number(decoded.irVersion), ONNX_IR_VERSION);
      assert.equal(Number(decoded.opsetImport[0].version), ONNX_OPSET);
      assert.ok(ONNX_OPSET >= 13);
      // Batch norms' vectors are stored, and written, as float32 at every precision.
      const initializers = (decoded.graph?.initializer ?? []).filter((t) => !/batch_normalization/.test(t.name ?? ''));
      const types = new Set(initializers.map((t) => t.dataType));
      if (precision === 'float16') assert.deepEqual([...types], [onnx.TensorProto.DataType.FLOAT16], 'float16 weights stay float16 in the file');
      if (precision === 'int8') {
        // Codes as INT8 initializers; the only FLOAT ones are the scales.
        const nodes = decoded.graph?.node ?? [];
        const dequantize = nodes.filter((n) => n.opType === 'DequantizeLinear');
        assert.equal(dequantize.length, (decoded.graph?.initializer ?? []).filter((t) => t.dataType === onnx.TensorProto.DataType.INT8 && t.name?.endsWith('_q')).length);
        assert.ok(dequantize.length > 0, 'int8 stays int8 in the file');
        assert.ok(dequantize.every((n) => (n.attribute ?? []).some((a) => a.name === 'axis') === (quantization === 'per-channel')), 'axis exactly when per channel');
      }
    });
  }
}

test("an exported student, read back as a teacher, is the spec that built it (its architecture, NHWC or NCHW)", () => {
  for (const [family, { spec, inputShape }] of Object.entries(FAMILIES)) {
    const s = stored(spec, inputShape, 'float32', 'per-tensor');
    for (const layout of ['nhwc', 'nchw'] as const) {
      const { model } = exportOnnx({ topology: s.topology, manifest: s.manifest, data: s.data, inputShape, layout });
      const read = onnxArchitecture(onnx.ModelProto.decode(model));
      // The export writes no Dropout node (inference): the rest is the spec.
      assert.deepEqual<object>(read, { spec: { ...spec, dropout: 0 } }, `${family}, ${layout}`);
    }
  }
});
