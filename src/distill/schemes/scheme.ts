import type * as tf from '@tensorflow/tfjs';
import type { TrialMetrics } from '../../core/metrics';
import type { TrainingConfig } from '../../core/training';
import type { ModelShape } from '../../model/build';
import type { CnnSpec, StudentSpec } from '../../space/student';
import type { ResidentData } from '../distill-step';
import type { Forward } from '../forward';
import type { BatchStep } from '../loop';

/** What every scheme is given: the student, its optimizer, the resident training split and the run's settings. */
export interface SchemeContext {
  model: tf.LayersModel;
  /** The student's forward pass (fake-quantized under QAT). */
  forward: Forward;
  optimizer: tf.Optimizer;
  /** The training split on the backend; the fixed teacher's logits attached when the run has them. */
  train: ResidentData;
  training: TrainingConfig;
  /** The student's spec (self-exits attaches its exits after the spec's blocks). */
  spec: StudentSpec;
  inputShape: number[];
  numClasses: number;
  /** A fresh network of the teacher's architecture (online distillation's peer). */
  buildPeer: (seed: number) => tf.LayersModel;
  /** Top-1 accuracy of a predictor on the held-out split. */
  evaluate: (predictor: tf.LayersModel | Forward) => Promise<number>;
}

/** A scheme prepared for one run: the one training loop calls these (DESIGN.md rule 2). */
export interface PreparedScheme {
  step: BatchStep;
  /** Before each epoch (1-based): the self scheme refreshes its targets here. */
  beforeEpoch?: (epoch: number) => Promise<void>;
  /** Metrics of the scheme's own variables after training (online: the peer's accuracy). */
  extraMetrics?: () => Promise<Partial<TrialMetrics>>;
  /** self-exits: each shallow exit as a standalone student (the first blocks, then its head), built from the trained weights. The caller disposes them. */
  exitModels?: (shape: ModelShape) => Array<{ exit: number; spec: CnnSpec; model: tf.LayersModel }>;
  /**
   * The scheme's own variables, for a paused trial's checkpoint (the
   * student's weights and the optimizer are saved by the caller): save
   * returns them without copying, restore assigns them in the same order.
   */
  state?: { save(): tf.Tensor[]; restore(tensors: readonly tf.Tensor[]): void };
  /** Frees what the scheme made (targets, peer, exit heads). */
  dispose(): void;
}

/** offline, online or self: which logits the student learns from and which variables the step updates. */
export interface TrainingScheme {
  /** Does the scheme read the fixed teacher's cached logits? */
  usesTeacherLogits: boolean;
  prepare(ctx: SchemeContext): PreparedScheme;
}
