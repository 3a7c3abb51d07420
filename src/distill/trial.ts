import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { Dataset } from '../datasets/types';
import { limitSplit } from '../datasets/split';
import { featureSize } from '../datasets/types';
import { buildModel } from '../model/build';
import { inspectModel } from '../model/inspect';
import type { LayerSummary } from '../model/measure';
import { measureSpec, storedBytes } from '../model/measure';
import { measureLatency } from '../model/latency';
import { dequantizeWeight, quantizeWeight } from '../model/quantize';
import type { StoredWeight } from '../model/quantize';
import type { ConcreteSpec, StudentSpec } from '../space/student';
import { studentFamily } from '../space/student';
import { accuracy } from './evaluate';
import type { EpochRecord } from './loop';
import type { TrialMetrics } from '../search/types';
import { trainLoop } from './loop';
import { distillStep } from './distill-step';
import { studentForward } from './forward';
import type { Forward } from './forward';
import { onlineStep } from './online';
import { SCHEMES } from '../space/student';
import { toResident } from './resident';
import { createAdam } from './adam';

export const trainingConfigSchema = z
  .object({
    epochs: z.number().int().min(1).max(1000),
    batchSize: z.number().int().min(1).max(4096),
    learningRate: z.number().positive().max(1),
    temperature: z.number().positive().max(100),
    alpha: z.number().min(0).max(1),
    scheme: z.enum(SCHEMES).default('offline'),
    seed: z.number().int().min(0),
    /** Use only the first N training samples (quick experiments, tests). */
    trainLimit: z.number().int().min(1).optional(),
  })
  .strict();
export type TrainingConfig = z.input<typeof trainingConfigSchema>;

/** Defaults of `kdsearch distill`, chosen by measurement (README, "Defaults"). */
export const DEFAULT_TRAINING: TrainingConfig = {
  epochs: 12,
  batchSize: 64,
  learningRate: 0.002,
  temperature: 4,
  alpha: 0.7,
  scheme: 'offline',
  seed: 0,
};

/** The architecture a born-again student copies. */
export interface TeacherArchitecture {
  spec?: ConcreteSpec;
  topology: object;
}

export interface TrialInput {
  spec: StudentSpec;
  training: TrainingConfig;
  dataset: Dataset;
  /** Cached teacher logits on the training split; required when alpha > 0. */
  teacherLogits?: Float32Array;
  teacher: TeacherArchitecture;
  onEpoch?: (record: EpochRecord) => void | Promise<void>;
  shouldStop?: () => boolean;
}

/** The metrics of a trained student: one definition, shared with the search (DESIGN.md rule 8). */
export type StudentMetrics = TrialMetrics;

export interface TrialResult {
  family: string;
  metrics: StudentMetrics;
  curve: EpochRecord[];
  layers: LayerSummary[];
  weights: StoredWeight[];
  /** Keras topology of the student, for export as a TF.js model. */
  topology: object;
  seconds: number;
}

function buildStudent(input: TrialInput, seed: number): tf.LayersModel {
  const { spec, dataset, teacher } = input;
  const shape = { inputShape: dataset.inputShape, numClasses: dataset.numClasses, seed };
  if (spec.kind !== 'teacher') return buildModel(spec, shape);
  if (teacher.spec) return buildModel({ ...teacher.spec, precision: spec.precision, quantization: spec.quantization, qat: spec.qat }, shape);
  // A teacher from disk: same topology, fresh (glorot) weights.
  return tf.models.modelFromJSON({ modelTopology: teacher.topology } as never) as unknown as tf.LayersModel;
}

function peerOf(input: TrialInput, seed: number): tf.LayersModel {
  const { dataset, teacher } = input;
  if (teacher.spec) return buildModel(teacher.spec, { inputShape: dataset.inputShape, numClasses: dataset.numClasses, seed });
  return tf.models.modelFromJSON({ modelTopology: teacher.topology } as never) as unknown as tf.LayersModel;
}

/**
 * The self scheme's moving targets: the student's own predictions on the
 * training split at the end of the previous epoch (progressive
 * self-knowledge distillation, Kim et al. 2021; born-again when the student
 * has the teacher's architecture). Their weight grows linearly from 0 in
 * the first epoch to alpha in the last.
 */
function selfTargets(opts: { forward: Forward; x: tf.Tensor; epochs: number; alpha: number }) {
  let current: tf.Tensor2D | undefined;
  let alpha = 0;
  return {
    current: () => current,
    alpha: () => alpha,
    async refresh(epoch: number) {
      if (epoch === 1) return;
      const next = await predictAll(opts.forward, opts.x);
      current?.dispose();
      current = next;
      alpha = opts.epochs > 1 ? (opts.alpha * (epoch - 1)) / (opts.epochs - 1) : opts.alpha;
    },
    dispose: () => current?.dispose(),
  };
}

async function predictAll(forward: Forward, x: tf.Tensor, batchSize = 500): Promise<tf.Tensor2D> {
  const parts: tf.Tensor2D[] = [];
  for (let start = 0; start < x.shape[0]; start += batchSize) {
    const size = Math.min(batchSize, x.shape[0] - start);
    parts.push(tf.tidy(() => forward(tf.slice(x, start, size), false)));
    await new Promise<void>((r) => setImmediate(r));
  }
  const all = tf.concat(parts) as tf.Tensor2D;
  tf.dispose(parts);
  return all;
}

/**
 * One trial: build the student, distill it from the cached teacher logits,
 * quantize it to its precision, and measure it. A pure function of its
 * input (DESIGN.md rule 3): no files, no database.
 */
export async function runTrial(input: TrialInput): Promise<TrialResult> {
  const started = performance.now();
  const { spec, training, dataset } = input;
  const fs = featureSize(dataset.inputShape);
  const trainSplit = limitSplit(dataset.train, training.trainLimit, fs);
  const model = buildStudent(input, training.seed);
  const train = toResident(trainSplit, dataset.inputShape);
  const test = toResident(dataset.test, dataset.inputShape);
  const logits =
    input.teacherLogits && training.alpha > 0 && (training.scheme ?? 'offline') === 'offline'
      ? tf.tensor2d(input.teacherLogits.subarray(0, trainSplit.n * dataset.numClasses), [trainSplit.n, dataset.numClasses])
      : undefined;
  const optimizer = createAdam(training.learningRate);
  const scheme = training.scheme ?? 'offline';
  const forward = studentForward(model, spec);
  const loss = { temperature: training.temperature, alpha: training.alpha };
  const peer = scheme === 'online' ? peerOf(input, training.seed + 1) : undefined;
  const self = scheme === 'self' ? selfTargets({ forward, x: train.x, epochs: training.epochs, alpha: training.alpha }) : undefined;
  try {
    const step =
      scheme === 'online'
        ? onlineStep({ student: model, studentForward: forward, peer: peer!, optimizer, data: train, loss })
        : scheme === 'self'
          ? distillStep({ model, forward, optimizer, data: train, targets: self!.current, loss: () => ({ ...loss, alpha: self!.alpha() }), seed: training.seed })
          : distillStep({ model, forward, optimizer, data: { ...train, teacherLogits: logits }, loss, seed: training.seed });
    const curve = await trainLoop({
      n: trainSplit.n,
      epochs: training.epochs,
      batchSize: training.batchSize,
      seed: training.seed,
      step,
      beforeEpoch: self ? (epoch) => self.refresh(epoch) : undefined,
      evaluate: () => accuracy(forward, test.x, test.y),
      onEpoch: input.onEpoch,
      shouldStop: input.shouldStop,
    });
    // Under QAT the curve tracks the fake-quantized network; the float accuracy is the float weights'.
    const floatAccuracy = curve.length && !spec.qat ? curve[curve.length - 1].valAccuracy : await accuracy(model, test.x, test.y);
    const peerAccuracy = peer ? await accuracy(peer, test.x, test.y) : undefined;

    const trained = model.getWeights();
    const weights = model.weights.map((w, i) => {
      const values = trained[i];
      return quantizeWeight(w.originalName, values.shape, values.dataSync() as Float32Array, spec.precision, spec.quantization);
    });
    let quantizedAccuracy = floatAccuracy;
    if (spec.precision !== 'float32') {
      const dequantized = weights.map((w) => tf.tensor(dequantizeWeight(w), w.shape));
      model.setWeights(dequantized);
      tf.dispose(dequantized);
      quantizedAccuracy = await accuracy(model, test.x, test.y);
    }
    const latency = await measureLatency(model, dataset.inputShape);
    const inspected = inspectModel(model);
    const concrete = spec.kind === 'teacher' ? input.teacher.spec : spec;
    const sizeSource = concrete
      ? measureSpec(concrete, dataset.inputShape, dataset.numClasses).weightTensors
      : weights.map((w) => ({ size: w.data.length, channels: w.shape[w.shape.length - 1] ?? 1 }));
    return {
      family: studentFamily(spec),
      metrics: {
        accuracy: quantizedAccuracy,
        floatAccuracy,
        ...(peerAccuracy !== undefined ? { peerAccuracy } : {}),
        params: inspected.params,
        macs: inspected.macs,
        sizeBytes: storedBytes(sizeSource, spec.precision, spec.quantization),
        latencyMs: latency.medianMs,
        latencyP10Ms: latency.p10Ms,
        latencyP90Ms: latency.p90Ms,
      },
      curve,
      layers: inspected.layers,
      weights,
      topology: model.toJSON(null, false) as object,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    optimizer.dispose();
    tf.dispose([train.x, train.y, test.x, test.y]);
    logits?.dispose();
    self?.dispose();
    peer?.dispose();
    model.dispose();
  }
}
