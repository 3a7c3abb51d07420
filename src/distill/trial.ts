import * as tf from '@tensorflow/tfjs';
import { KdError } from '../core/errors';
import type { Dataset } from '../datasets/types';
import { limitSplit } from '../datasets/split';
import { featureSize } from '../datasets/types';
import { buildModel } from '../model/build';
import type { ModelShape } from '../model/build';
import { inspectModel } from '../model/inspect';
import { measureSpec, storedBytes } from '../space/measure';
import { measureLatency } from '../model/latency';
import { latencyReference } from '../model/latency-reference';
import { dequantizeWeight } from '../model/quantize';
import { quantizeModel } from '../model/quantize-model';
import type { StoredWeight } from '../model/quantize';
import type { CnnSpec, ConcreteSpec, StorageSettings, StudentSpec, TeacherArchitecture } from '../space/student';
import { studentFamily } from '../space/student';
import { accuracy } from './evaluate';
import { trainLoop } from './loop';
import type { ResidentData } from './distill-step';
import { dropoutSeeds, studentForward } from './forward';
import type { Forward } from './forward';
import { TRAINING_SCHEMES } from './schemes';
import type { PreparedScheme } from './schemes/scheme';
import { toResident } from './resident';
import { createAdam } from './adam';
import type { LatencyCalibration, LatencyEffort, LatencyRuntime, LayerSummary, TrialMetrics } from '../core/metrics';
import type { EpochRecord } from '../core/epoch';
import type { TrainingConfig } from '../core/training';
import type { Checkpoint } from '../core/checkpoint';
import { restoreCheckpoint, saveCheckpoint } from './checkpoint';

export interface TrialInput {
  spec: StudentSpec;
  training: TrainingConfig;
  dataset: Dataset;
  /** Cached teacher logits on the training split; used by the offline scheme when alpha > 0. */
  teacherLogits?: Float32Array;
  teacher: TeacherArchitecture;
  /** Where the latency is measured; default tfjs on the active backend. */
  latencyRuntime?: LatencyRuntime;
  /** How hard latency is measured; default careful. */
  latencyEffort?: LatencyEffort;
  /** The reference networks' calibrated times (model/latency-reference.ts): the latency is placed between them; absent, raw times. */
  latencyReferences?: LatencyCalibration;
  onEpoch?: (record: EpochRecord) => void | Promise<void>;
  /** Rungs (successive halving): train part of the epochs, or continue a paused trial. */
  fidelity?: Fidelity;
  /** A pre-screen instead of a trial: distil for `steps` batches (one epoch over steps x batchSize samples), score on the first `evalSamples` held-out samples, measure nothing else. */
  screen?: { steps: number; evalSamples: number };
}

/** A pre-screen's score: the float student's held-out accuracy after the screen's steps, and its mean KD term. */
export interface ScreenResult {
  screened: true;
  accuracy: number;
  kdLoss: number;
  seconds: number;
}

/** The latency part of a student's metrics: the same network, so measured once per trial. */
export type LatencyMeasure = Pick<TrialMetrics, 'latencyMs' | 'latencyP10Ms' | 'latencyP90Ms' | 'latencyRuntime' | 'latencyFullSpeed'>;

export interface Fidelity {
  /** Pause after this epoch (a rung, below the candidate's epochs), measured and checkpointed. */
  stopAt?: number;
  /** The checkpoint of a paused trial: training continues at its epoch + 1. */
  resume?: Checkpoint;
  /** The latency measured (quickly) at the trial's first rung, reused at its later rungs: the network does not change with training. */
  latency?: LatencyMeasure;
}

/** A trial paused at a rung: its metrics there and all it needs to continue. */
export interface PausedTrial {
  paused: true;
  family: string;
  /** The rung: the last epoch trained. */
  epoch: number;
  /** Measured as a finished student is (accuracy at its precision, size, latency), after `epoch` epochs. */
  metrics: TrialMetrics;
  /** The epochs of this leg. */
  curve: EpochRecord[];
  checkpoint: Checkpoint;
  seconds: number;
}

/** A trained network measured as a student: what the store keeps of a trial, and of each of its exits. */
export interface MeasuredStudent {
  metrics: TrialMetrics;
  layers: LayerSummary[];
  weights: StoredWeight[];
  /** Keras topology of the student, for export as a TF.js model. */
  topology: Record<string, unknown>;
}

/** A shallow exit of a self-exits trial (1-based: after block `exit`), a student of its own. */
export interface ExitResult extends MeasuredStudent {
  exit: number;
  spec: CnnSpec;
}

export interface TrialResult extends MeasuredStudent {
  family: string;
  curve: EpochRecord[];
  /** self-exits: every shallow exit, measured by the same definitions as the trial. */
  exits?: ExitResult[];
  seconds: number;
}

/**
 * The student's latency in onnxruntime-node, on its ONNX export at its
 * stored precision (onnxruntime loads only when asked for).
 */
async function onnxLatency(opts: Parameters<typeof import('../model/onnx-latency').onnxLatencyOfStored>[0]) {
  const { onnxLatencyOfStored } = await import('../model/onnx-latency');
  return onnxLatencyOfStored(opts);
}

/** A fresh network of the teacher's architecture: from the built-in teacher's spec, or (a teacher from disk) its topology with glorot weights. */
function teacherArchitecture(teacher: TeacherArchitecture, shape: ModelShape, storage?: StorageSettings): tf.LayersModel {
  if (teacher.spec) return buildModel(storage ? { ...teacher.spec, ...storage } : teacher.spec, shape);
  if (Object.keys(teacher.topology).length === 0) {
    throw new KdError('TEACHER_MISMATCH', `the teacher's architecture cannot be copied: ${teacher.unmappable ?? 'it has no layers kdsearch can read'}; born-again students and the online scheme need a teacher whose layers map`);
  }
  return tf.models.modelFromJSON({ modelTopology: teacher.topology } as never) as unknown as tf.LayersModel;
}

function buildStudent(input: TrialInput, shape: ModelShape): tf.LayersModel {
  const { spec } = input;
  if (spec.kind !== 'teacher') return buildModel(spec, shape);
  return teacherArchitecture(input.teacher, shape, { precision: spec.precision, quantization: spec.quantization, qat: spec.qat });
}

/** The student's latency by the definition of the README's Metrics, on the runtime the input names. */
async function measureStudentLatency(
  model: tf.LayersModel,
  opts: { topology: Record<string, unknown>; weights: StoredWeight[]; inputShape: number[]; input: TrialInput },
): Promise<LatencyMeasure> {
  const { input } = opts;
  const reference = input.latencyReferences ? await latencyReference(input.latencyRuntime ?? 'tfjs-wasm', input.latencyReferences, input.latencyEffort) : undefined;
  const { latency, latencyRuntime } =
    input.latencyRuntime === 'onnxruntime'
      ? await onnxLatency({ topology: opts.topology, weights: opts.weights, inputShape: opts.inputShape, effort: input.latencyEffort, reference })
      : { latency: await measureLatency(model, opts.inputShape, { effort: input.latencyEffort, reference }), latencyRuntime: `tfjs-${tf.getBackend()}` };
  return { latencyMs: latency.medianMs, latencyP10Ms: latency.p10Ms, latencyP90Ms: latency.p90Ms, latencyRuntime, ...(latency.fullSpeed === undefined ? {} : { latencyFullSpeed: latency.fullSpeed }) };
}

/**
 * A trained network as a student: its accuracy at its stored precision (its
 * weights are quantized, then read back), params, MACs, sizeBytes and
 * latency, by the definitions of the README's Metrics. The model's weights
 * are left quantized.
 */
async function measureStudent(
  model: tf.LayersModel,
  spec: StudentSpec,
  opts: {
    test: ResidentData;
    inputShape: number[];
    numClasses: number;
    input: TrialInput;
    /** The float accuracy when the caller already has it (the curve's last epoch). */
    floatAccuracy?: number;
    /** The concrete architecture (undefined for a born-again copy of a teacher from disk). */
    concrete: ConcreteSpec | undefined;
    /** Measured before (at a rung): not measured again. */
    latency?: LatencyMeasure;
  },
): Promise<MeasuredStudent> {
  const { test, input } = opts;
  const floatAccuracy = opts.floatAccuracy ?? (await accuracy(model, test.x, test.y));
  const weights = quantizeModel(model, spec);
  let quantizedAccuracy = floatAccuracy;
  if (spec.precision !== 'float32') {
    const dequantized = weights.map((w) => tf.tensor(dequantizeWeight(w), w.shape));
    model.setWeights(dequantized);
    tf.dispose(dequantized);
    quantizedAccuracy = await accuracy(model, test.x, test.y);
  }
  const topology = model.toJSON(null, false) as unknown as Record<string, unknown>;
  const latency = opts.latency ?? (await measureStudentLatency(model, { topology, weights, inputShape: opts.inputShape, input }));
  const inspected = inspectModel(model);
  const sizeSource = opts.concrete
    ? measureSpec(opts.concrete, opts.inputShape, opts.numClasses).weightTensors
    : weights.map((w) => ({ size: w.data.length, channels: w.shape[w.shape.length - 1] ?? 1, float: w.precision === 'float32' }));
  return {
    metrics: {
      accuracy: quantizedAccuracy,
      floatAccuracy,
      params: inspected.params,
      macs: inspected.macs,
      sizeBytes: storedBytes(sizeSource, spec.precision, spec.quantization),
      ...latency,
    },
    layers: inspected.layers,
    weights,
    topology,
  };
}

/** One trial trained to its full epochs in one go (see runTrialLeg). */
export async function runTrial(input: Omit<TrialInput, 'fidelity'>): Promise<TrialResult> {
  const result = await runTrialLeg(input);
  if ('paused' in result || 'screened' in result) throw new KdError('INTERNAL', 'a trial without rungs or pre-screen did not finish');
  return result;
}

function checkFidelity(fidelity: Fidelity | undefined, epochs: number): void {
  const from = fidelity?.resume?.epoch ?? 0;
  const to = fidelity?.stopAt ?? epochs;
  if (from >= epochs || to > epochs || to <= from) {
    throw new KdError('INTERNAL', `a trial leg from epoch ${from + 1} to ${to} does not fit the candidate's ${epochs} epochs`);
  }
}

/**
 * One trial, or one leg of it between rungs: build the student, distill it
 * from the cached teacher logits, quantize it to its precision, and
 * measure it. With `fidelity.stopAt` below the candidate's epochs it pauses
 * there instead: measured as a student, and checkpointed before its weights
 * are quantized. With `fidelity.resume` it continues a paused trial, the
 * same run as an unpaused one (the same batches, weights, optimizer moments
 * and scheme state). A pure function of its input (DESIGN.md rule 3): no
 * files, no database.
 */
export async function runTrialLeg(input: TrialInput): Promise<TrialResult | PausedTrial | ScreenResult> {
  const started = performance.now();
  const { spec, dataset, fidelity, screen } = input;
  if (screen && fidelity) throw new KdError('INTERNAL', 'a pre-screen is not a leg between rungs');
  const training = screen ? { ...input.training, epochs: 1, trainLimit: Math.min(input.training.trainLimit ?? Infinity, screen.steps * input.training.batchSize) } : input.training;
  checkFidelity(fidelity, training.epochs);
  const fs = featureSize(dataset.inputShape);
  const trainSplit = limitSplit(dataset.train, training.trainLimit, fs);
  const shape = { inputShape: dataset.inputShape, numClasses: dataset.numClasses };
  const model = buildStudent(input, { ...shape, seed: training.seed });
  const scheme = TRAINING_SCHEMES[training.scheme];
  const train: ResidentData = toResident(trainSplit, dataset.inputShape);
  const test = toResident(screen ? limitSplit(dataset.test, screen.evalSamples, fs) : dataset.test, dataset.inputShape);
  if (scheme.usesTeacherLogits && input.teacherLogits && training.alpha > 0) {
    train.teacherLogits = tf.tensor2d(input.teacherLogits.subarray(0, trainSplit.n * dataset.numClasses), [trainSplit.n, dataset.numClasses]);
  }
  const optimizer = createAdam(training.learningRate);
  const forward = studentForward(model, spec, { dropoutSeed: dropoutSeeds(training.seed, optimizer) });
  const evaluate = (predictor: tf.LayersModel | Forward) => accuracy(predictor, test.x, test.y);
  let run: PreparedScheme | undefined;
  try {
    run = scheme.prepare({
      model,
      forward,
      optimizer,
      train,
      training,
      spec,
      inputShape: dataset.inputShape,
      numClasses: dataset.numClasses,
      buildPeer: (seed) => teacherArchitecture(input.teacher, { ...shape, seed }),
      evaluate,
    });
    if (fidelity?.resume) await restoreCheckpoint(fidelity.resume, { model, scheme: run, optimizer });
    const lastEpoch = fidelity?.stopAt ?? training.epochs;
    const curve = await trainLoop({
      n: trainSplit.n,
      firstEpoch: (fidelity?.resume?.epoch ?? 0) + 1,
      epochs: lastEpoch,
      batchSize: training.batchSize,
      seed: training.seed,
      step: run.step,
      beforeEpoch: run.beforeEpoch,
      evaluate: () => evaluate(forward),
      onEpoch: input.onEpoch,
    });
    if (screen) return { screened: true, accuracy: curve[0].valAccuracy, kdLoss: curve[0].kdLoss, seconds: (performance.now() - started) / 1000 };
    // Under QAT the curve tracks the fake-quantized network; the float accuracy is the float weights'.
    const floatAccuracy = curve.length && !spec.qat ? curve[curve.length - 1].valAccuracy : undefined;
    const extra = (await run.extraMetrics?.()) ?? {};
    const measureOpts = { test, inputShape: dataset.inputShape, numClasses: dataset.numClasses, input };
    const concrete = spec.kind === 'teacher' ? input.teacher.spec : spec;
    if (lastEpoch < training.epochs) {
      // saved first: measuring leaves the weights quantized
      const checkpoint = await saveCheckpoint(lastEpoch, { model, scheme: run, optimizer });
      // A rung's latency ranks the trial among its rung, once: the quick effort (a few dozen cold runs, milliseconds)
      // instead of the careful one, whose warm-up holds the machine's quiet gate for seconds, on every trial started.
      const rungInput = { ...input, latencyEffort: 'quick' as const };
      const rung = await measureStudent(model, spec, { ...measureOpts, input: rungInput, floatAccuracy, concrete, latency: fidelity?.latency });
      return { paused: true, family: studentFamily(spec), epoch: lastEpoch, metrics: { ...rung.metrics, ...extra }, curve, checkpoint, seconds: (performance.now() - started) / 1000 };
    }
    // a finished student's latency by the space's effort, as without rungs
    const measured = await measureStudent(model, spec, { ...measureOpts, floatAccuracy, concrete });
    const exits: ExitResult[] = [];
    for (const { exit, spec: exitStudent, model: exitModel } of run.exitModels?.({ ...shape, seed: training.seed }) ?? []) {
      try {
        exits.push({ exit, spec: exitStudent, ...(await measureStudent(exitModel, exitStudent, { ...measureOpts, concrete: exitStudent })) });
      } finally {
        exitModel.dispose();
      }
    }
    return {
      family: studentFamily(spec),
      ...measured,
      metrics: { ...measured.metrics, ...extra },
      curve,
      ...(exits.length ? { exits } : {}),
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    run?.dispose();
    optimizer.dispose();
    tf.dispose([train.x, train.y, train.teacherLogits, test.x, test.y].filter((t) => t !== undefined));
    model.dispose();
  }
}
