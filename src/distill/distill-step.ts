import * as tf from '@tensorflow/tfjs';
import { createRng } from '../core/rng';
import { randomShift } from './augment';
import { studentForward } from './forward';
import type { Forward } from './forward';
import type { BatchStep } from './loop';
import { kdLossWithStats, minimizeWithStats } from './loss';
import type { KdLossOptions } from './loss';

export interface ResidentData {
  /** Training inputs [n, ...inputShape], kept on the backend for the whole run. */
  x: tf.Tensor;
  /** Labels [n], int32. */
  y: tf.Tensor1D;
  /** Cached teacher logits [n, classes]; absent for training from labels only. */
  teacherLogits?: tf.Tensor2D;
}

export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/**
 * The distillation step shared by the offline and self schemes: the student
 * against soft targets gathered by row (the fixed teacher's cached logits,
 * or the student's own earlier predictions), or the labels alone when there
 * are none. Batches are gathered on the backend from resident tensors;
 * nothing crosses from the host but indices.
 */
export function distillStep(opts: {
  model: tf.LayersModel;
  /** The student's forward pass (fake-quantized under QAT); default studentForward without quantization. */
  forward?: Forward;
  optimizer: tf.Optimizer;
  data: ResidentData;
  /** Soft targets for every training row, read at each step (they may change per epoch). */
  targets?: () => tf.Tensor2D | undefined;
  loss: KdLossOptions | (() => KdLossOptions);
  /** A teacher run on every batch instead of cached logits (benchmarks, augmented inputs). */
  liveTeacher?: tf.LayersModel;
  /** Random image shifts of up to this many pixels (teacher training only: cached logits need fixed inputs). */
  augmentShift?: number;
  seed: number;
}): BatchStep {
  const vars = trainableVariables(opts.model);
  const rng = createRng('augment', opts.seed);
  const forward: Forward = opts.forward ?? studentForward(opts.model);
  const targets = opts.targets ?? (() => opts.data.teacherLogits);
  return (indices) => {
    let xb = tf.gather(opts.data.x, indices);
    if (opts.augmentShift) xb = randomShift(xb as tf.Tensor4D, opts.augmentShift, rng);
    const yb = tf.gather(opts.data.y, indices) as tf.Tensor1D;
    const source = targets();
    const tb = opts.liveTeacher
      ? (opts.liveTeacher.apply(xb, { training: false }) as tf.Tensor2D)
      : source
        ? (tf.gather(source, indices) as tf.Tensor2D)
        : undefined;
    const loss = typeof opts.loss === 'function' ? opts.loss() : opts.loss;
    return minimizeWithStats(opts.optimizer, vars, () => kdLossWithStats(forward(xb, true), tb, yb, loss));
  };
}
