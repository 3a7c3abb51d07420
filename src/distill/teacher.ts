import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { Dataset } from '../datasets/types';
import { KdError, errorCodeOf } from '../core/errors';
import type { LatencyEffort, LatencyRuntime } from '../core/metrics';
import { quantizeModel } from '../model/quantize-model';
import { buildModel } from '../model/build';
import { fileLoader, fileSaver } from '../model/file-io';
import { inspectModel } from '../model/inspect';
import { builtinTeacherSpec } from '../model/teacher-arch';
import type { ConcreteSpec } from '../space/student';
import { sha256 } from '../core/hash';
import { accuracy, predictLogits } from './evaluate';
import { measureLatency } from '../model/latency';
import type { LatencyReference, LatencyStats } from '../model/latency';
import { kerasArchitecture } from '../model/keras-architecture';
import { measureSpec } from '../space/measure';
import { trainLoop } from './loop';
import { distillStep } from './distill-step';
import { toResident } from './resident';
import { createAdam } from './adam';
import { curveSchema } from '../core/epoch';
import type { EpochRecord } from '../core/epoch';
import { cacheDir, teachersDir, writeAtomic } from '../core/data-dir';
import type { Log } from '../core/log';

export interface Teacher {
  /** "builtin", or the model.json or .onnx path. */
  source: string;
  /** What runs it: tfjs (the built-in teacher, TF.js models) or onnxruntime (.onnx files). */
  runtime: 'tfjs' | 'onnxruntime';
  accuracy: number;
  params: number;
  /** Counted from the layers of a TF.js teacher; 0 (not counted) for an ONNX graph. */
  macs: number;
  /** Content hash of the model: keys the logits cache. */
  fingerprint: string;
  /** The architecture as a spec, for the built-in teacher (born-again students). */
  spec?: ConcreteSpec;
  /** The Keras topology JSON, for born-again students of a TF.js teacher from disk; empty for an ONNX teacher. */
  topology: Record<string, unknown>;
  /** Why an ONNX teacher's layers have no spec: the first node kdsearch cannot map. */
  unmappable?: string;
  /** Logits (never probabilities: a softmax output gives its logs) for `n` samples in kdsearch's layout. */
  logits(x: Float32Array, n: number): Promise<Float32Array>;
  /**
   * Batch-1 latency, measured as the students' is (`runtime`: tfjs on the
   * active backend, or onnxruntime on the teacher's ONNX export), and what
   * measured it: an ONNX teacher always runs in onnxruntime, and a TF.js
   * teacher whose layers have no ONNX export stays in tfjs.
   */
  latency(inputShape: number[], how?: { runtime?: LatencyRuntime; effort?: LatencyEffort; reference?: LatencyReference }): Promise<{ stats: LatencyStats; runtime: string }>;
  dispose(): Promise<void>;
}

/** How the built-in teacher is trained; changing it retrains (it keys the folder). */
export const BUILTIN_TEACHER_TRAINING = {
  epochs: 12,
  batchSize: 64,
  learningRate: 0.001,
  augmentShift: 2,
  seed: 1,
} as const;

const metaSchema = z.object({
  accuracy: z.number(),
  epochs: z.number(),
  seconds: z.number(),
  backend: z.string(),
  datasetFingerprint: z.string(),
  curve: curveSchema,
});
export type TeacherMeta = z.infer<typeof metaSchema>;

function weightsFingerprint(model: tf.LayersModel): string {
  const parts: Array<string | ArrayBufferView> = [JSON.stringify(model.toJSON(null, false))];
  for (const w of model.getWeights()) parts.push(w.dataSync() as Float32Array);
  return sha256(...parts);
}

function lastActivationIsSoftmax(model: tf.LayersModel): boolean {
  const last = model.layers[model.layers.length - 1];
  const config = last.getConfig() as { activation?: unknown };
  return config.activation === 'softmax' || last.getClassName() === 'Softmax';
}

function checkFits(model: tf.LayersModel, dataset: Dataset, origin: string): void {
  const input = model.inputs[0].shape.slice(1);
  const expected = dataset.inputShape;
  if (input.length !== expected.length || input.some((d, i) => d !== null && d !== expected[i])) {
    throw new KdError(
      'TEACHER_MISMATCH',
      `${origin}: the teacher's input shape is [${input.join(', ')}] but dataset ${dataset.source} provides [${expected.join(', ')}]`,
    );
  }
  const classes = model.outputs[0].shape[model.outputs[0].shape.length - 1];
  if (classes !== dataset.numClasses) {
    throw new KdError('TEACHER_MISMATCH', `${origin}: the teacher outputs ${classes} classes but dataset ${dataset.source} has ${dataset.numClasses}`);
  }
}

function builtinDir(dataDir: string, dataset: Dataset): string {
  const key = sha256(dataset.fingerprint, JSON.stringify(builtinTeacherSpec(dataset.inputShape)), JSON.stringify(BUILTIN_TEACHER_TRAINING)).slice(0, 16);
  return join(teachersDir(dataDir), `builtin-${key}`);
}

const FLOAT32_STORAGE = { precision: 'float32', quantization: 'per-tensor' } as const;
/** How an ONNX teacher is timed (model/onnx-teacher.ts): its own session. */
const ONNX_TEACHER_RUNTIME = 'onnxruntime-node (CPU, 1 thread)';

/** A TF.js teacher; `accuracy` as measured, or (undefined) measured here on the test split. */
async function tfjsTeacher(model: tf.LayersModel, source: string, dataset: Dataset, acc?: number, spec?: ConcreteSpec): Promise<Teacher> {
  const { params, macs } = inspectModel(model);
  const probabilities = lastActivationIsSoftmax(model);
  const logits = async (x: Float32Array, n: number) => {
    const input = tf.tensor(x, [n, ...dataset.inputShape], 'float32');
    let out: Float32Array;
    try {
      out = await predictLogits(model, input);
    } finally {
      input.dispose();
    }
    // softmax is shift-invariant, so log-probabilities are logits up to a per-row constant.
    if (probabilities) for (let i = 0; i < out.length; i++) out[i] = Math.log(Math.max(out[i], 1e-12));
    return out;
  };
  return {
    source,
    runtime: 'tfjs',
    accuracy: acc ?? top1(await logits(dataset.test.x, dataset.test.n), dataset.test.y, dataset.numClasses),
    params,
    macs,
    fingerprint: weightsFingerprint(model),
    spec,
    topology: model.toJSON(null, false) as unknown as Record<string, unknown>,
    logits,
    latency: async (inputShape, how = {}) => {
      if (how.runtime === 'onnxruntime') {
        const { onnxLatencyOfStored } = await import('../model/onnx-latency');
        try {
          const measured = await onnxLatencyOfStored({ topology: model.toJSON(null, false) as never, weights: quantizeModel(model, FLOAT32_STORAGE), inputShape, effort: how.effort, reference: how.reference });
          return { stats: measured.latency, runtime: measured.latencyRuntime };
        } catch (err) {
          if (errorCodeOf(err) !== 'INTERNAL') throw err;
          // A user's layer without an ONNX mapping: the teacher stays in tfjs, and says so.
        }
      }
      return { stats: await measureLatency(model, inputShape, { effort: how.effort, reference: how.reference }), runtime: `tfjs-${tf.getBackend()}` };
    },
    dispose: async () => {
      model.dispose();
    },
  };
}

/** An ONNX teacher, run by onnxruntime-node; its accuracy measured on the test split. */
async function onnxTeacher(file: string, dataset: Dataset): Promise<Teacher> {
  // onnxruntime's native library loads only when a teacher is an .onnx file, not in every command's start-up.
  const { OnnxTeacherModel } = await import('../model/onnx-teacher');
  const model = await OnnxTeacherModel.open(file, { inputShape: dataset.inputShape, numClasses: dataset.numClasses, datasetSource: dataset.source });
  try {
    const logits = (x: Float32Array, n: number) => model.logits(x, n);
    const spec = 'spec' in model.architecture ? model.architecture.spec : undefined;
    return {
      source: file,
      runtime: 'onnxruntime',
      accuracy: top1(await logits(dataset.test.x, dataset.test.n), dataset.test.y, dataset.numClasses),
      params: model.params,
      macs: spec ? measureSpec(spec, dataset.inputShape, dataset.numClasses).macs : 0,
      fingerprint: sha256('onnx', readFileSync(file)),
      spec,
      ...('unmappable' in model.architecture ? { unmappable: model.architecture.unmappable } : {}),
      topology: {},
      logits,
      latency: async (_inputShape, how = {}) => ({ stats: await model.latency({ effort: how.effort, reference: how.reference }), runtime: ONNX_TEACHER_RUNTIME }),
      dispose: () => model.dispose(),
    };
  } catch (err) {
    await model.dispose();
    throw err;
  }
}

/** Top-1 accuracy of logits against labels. */
function top1(logits: Float32Array, labels: Int32Array, classes: number): number {
  let right = 0;
  for (let r = 0; r < labels.length; r++) {
    let best = 0;
    for (let k = 1; k < classes; k++) if (logits[r * classes + k] > logits[r * classes + best]) best = k;
    if (best === labels[r]) right++;
  }
  return right / labels.length;
}

/** Trains the built-in teacher CNN on the dataset's training split and saves it. */
export async function trainBuiltinTeacher(opts: { dataset: Dataset; dataDir: string; backend: string; log: Log }): Promise<Teacher> {
  const { dataset, log } = opts;
  const cfg = BUILTIN_TEACHER_TRAINING;
  const spec = builtinTeacherSpec(dataset.inputShape);
  const model = buildModel(spec, { inputShape: dataset.inputShape, numClasses: dataset.numClasses, seed: cfg.seed });
  const train = toResident(dataset.train, dataset.inputShape);
  const test = toResident(dataset.test, dataset.inputShape);
  const optimizer = createAdam(cfg.learningRate);
  const started = performance.now();
  log(`teacher: training the built-in ${spec.kind === 'cnn' ? 'CNN' : 'MLP'} (${model.countParams()} params) for ${cfg.epochs} epochs on ${dataset.train.n} samples`);
  let curve: EpochRecord[];
  try {
    curve = await trainLoop({
      n: dataset.train.n,
      epochs: cfg.epochs,
      batchSize: cfg.batchSize,
      seed: cfg.seed,
      step: distillStep({
        model,
        optimizer,
        data: train,
        loss: { temperature: 1, alpha: 0 },
        augmentShift: dataset.inputShape.length === 3 ? cfg.augmentShift : 0,
        seed: cfg.seed,
      }),
      evaluate: () => accuracy(model, test.x, test.y),
      onEpoch: (r) =>
        log(`teacher: epoch ${r.epoch}/${cfg.epochs} loss ${r.loss.toFixed(4)} test accuracy ${(r.valAccuracy * 100).toFixed(2)}% (${r.seconds.toFixed(1)} s)`),
    });
  } finally {
    optimizer.dispose();
    tf.dispose([train.x, train.y, test.x, test.y]);
  }
  const seconds = (performance.now() - started) / 1000;
  const acc = curve[curve.length - 1].valAccuracy;
  const dir = builtinDir(opts.dataDir, dataset);
  await model.save(fileSaver(dir));
  const meta: TeacherMeta = { accuracy: acc, epochs: cfg.epochs, seconds, backend: opts.backend, datasetFingerprint: dataset.fingerprint, curve };
  writeAtomic(join(dir, 'meta.json'), JSON.stringify(meta, null, 2));
  log(`teacher: ${(acc * 100).toFixed(2)}% test accuracy after ${seconds.toFixed(0)} s, saved to ${dir}`);
  return tfjsTeacher(model, 'builtin', dataset, acc, spec);
}

/**
 * The teacher of a run: an .onnx file (run by onnxruntime) or a TF.js
 * model.json from disk when `path` is given, else the built-in teacher (a
 * CNN for images, an MLP for feature vectors), trained once per dataset and
 * reused from data/teachers/.
 */
export async function loadTeacher(opts: { dataset: Dataset; dataDir: string; path?: string; backend: string; log: Log }): Promise<Teacher> {
  const { dataset } = opts;
  if (opts.path?.toLowerCase().endsWith('.onnx')) {
    if (!existsSync(opts.path)) throw new KdError('TEACHER_INVALID', `${opts.path}: file does not exist (expected an ONNX model)`);
    return onnxTeacher(opts.path, dataset);
  }
  if (opts.path) {
    let model: tf.LayersModel;
    try {
      model = await tf.loadLayersModel(fileLoader(opts.path));
    } catch (err) {
      if (err instanceof KdError) throw err;
      throw new KdError('TEACHER_INVALID', `${opts.path}: cannot load as a TF.js layers model (${(err as Error).message})`);
    }
    checkFits(model, dataset, opts.path);
    // A chain of student layers reads as a spec: teacher-copies and the online peer build from it.
    return tfjsTeacher(model, opts.path, dataset, undefined, kerasArchitecture(model.toJSON(null, false) as unknown as Record<string, unknown>));
  }
  const dir = builtinDir(opts.dataDir, dataset);
  const metaFile = join(dir, 'meta.json');
  if (existsSync(metaFile) && existsSync(join(dir, 'model.json'))) {
    const parsed = metaSchema.safeParse(JSON.parse(readFileSync(metaFile, 'utf8')));
    if (parsed.success) {
      const model = await tf.loadLayersModel(fileLoader(join(dir, 'model.json')));
      opts.log(`teacher: reusing the built-in teacher from ${dir} (${(parsed.data.accuracy * 100).toFixed(2)}% test accuracy)`);
      return tfjsTeacher(model, 'builtin', dataset, parsed.data.accuracy, builtinTeacherSpec(dataset.inputShape));
    }
    opts.log(`teacher: ${metaFile} is not readable (${parsed.error.issues[0]?.message}); training again`);
  }
  return trainBuiltinTeacher(opts);
}

/** Where the teacher's logits on a dataset's training split are cached: raw float32, [trainN, classes]. */
export function teacherLogitsFile(dataDir: string, teacherFingerprint: string, datasetFingerprint: string): string {
  return join(cacheDir(dataDir), `logits-${sha256(teacherFingerprint, datasetFingerprint, 'train').slice(0, 24)}.f32`);
}

/**
 * The teacher's logits on the training split, computed once per (teacher,
 * dataset) and cached under data/cache/, keyed by their content hashes.
 */
export async function teacherLogits(opts: { teacher: Teacher; dataset: Dataset; dataDir: string; log: Log }): Promise<Float32Array> {
  const { teacher, dataset } = opts;
  const file = teacherLogitsFile(opts.dataDir, teacher.fingerprint, dataset.fingerprint);
  const expectedBytes = dataset.train.n * dataset.numClasses * 4;
  if (existsSync(file)) {
    const buf = readFileSync(file);
    if (buf.length === expectedBytes) {
      opts.log(`teacher logits: reusing the cache ${file}`);
      return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    }
    opts.log(`teacher logits: ${file} has ${buf.length} bytes, expected ${expectedBytes}; computing again`);
  }
  const started = performance.now();
  const logits = await teacher.logits(dataset.train.x, dataset.train.n);
  writeAtomic(file, new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength));
  opts.log(`teacher logits: computed by ${teacher.runtime} for ${dataset.train.n} samples in ${((performance.now() - started) / 1000).toFixed(1)} s, cached at ${file}`);
  return logits;
}
