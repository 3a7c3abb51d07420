import * as tf from '@tensorflow/tfjs';
import { createRng } from '../util/rng';
import { randomShift } from './augment';
import type { BatchStep } from './loop';
import { kdLoss } from './loss';
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
 * Offline distillation step: the student against the fixed teacher's cached
 * logits (or the labels alone when alpha = 0). Batches are gathered on the
 * backend from resident tensors; nothing crosses from the host but indices.
 */
export function offlineStep(opts: {
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  data: ResidentData;
  loss: KdLossOptions;
  /** A teacher run on every batch instead of cached logits (benchmarks, augmented inputs). */
  liveTeacher?: tf.LayersModel;
  /** Random image shifts of up to this many pixels (teacher training only: cached logits need fixed inputs). */
  augmentShift?: number;
  seed: number;
}): BatchStep {
  const vars = trainableVariables(opts.model);
  const rng = createRng('augment', opts.seed);
  return (indices) => {
    let xb = tf.gather(opts.data.x, indices);
    if (opts.augmentShift) xb = randomShift(xb as tf.Tensor4D, opts.augmentShift, rng);
    const yb = tf.gather(opts.data.y, indices) as tf.Tensor1D;
    const tb = opts.liveTeacher
      ? (opts.liveTeacher.apply(xb, { training: false }) as tf.Tensor2D)
      : opts.data.teacherLogits
        ? (tf.gather(opts.data.teacherLogits, indices) as tf.Tensor2D)
        : undefined;
    let kl: tf.Scalar | undefined;
    let ce: tf.Scalar | undefined;
    const total = opts.optimizer.minimize(
      () => {
        const logits = opts.model.apply(xb, { training: true }) as tf.Tensor2D;
        const parts = kdLoss(logits, tb, yb, opts.loss);
        kl = tf.keep(parts.kl);
        ce = tf.keep(parts.ce);
        return parts.total;
      },
      true,
      vars,
    ) as tf.Scalar;
    const stats = tf.stack([total, kl!, ce!]) as tf.Tensor1D;
    kl!.dispose();
    ce!.dispose();
    return stats;
  };
}
