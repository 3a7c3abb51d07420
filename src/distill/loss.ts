import * as tf from '@tensorflow/tfjs';
import { capabilities, distillLoss } from '@kdsearch/wasm-train-kernels';

export interface KdLossOptions {
  /** Softening temperature T > 0. */
  temperature: number;
  /** Weight of the distillation term, in [0, 1]; 0 is plain cross-entropy. */
  alpha: number;
}

export interface KdLossParts {
  /** alpha * T^2 * KL + (1 - alpha) * CE, averaged over the batch. */
  total: tf.Scalar;
  /** KL(softmax(t/T) || softmax(s/T)), batch mean, without the T^2 factor. */
  kl: tf.Scalar;
  /** Cross-entropy of the labels against softmax(s), batch mean. */
  ce: tf.Scalar;
}

/** Cross-entropy of integer labels against softmax(logits), batch mean. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy((): tf.Scalar => {
    const oneHot = tf.oneHot(tf.cast(labels, 'int32'), logits.shape[1]);
    return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
  });
}

/** KL(softmax(t/T) || softmax(s/T)), batch mean. */
export function softKl(studentLogits: tf.Tensor2D, teacherLogits: tf.Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const logPt = tf.logSoftmax(tf.div(teacherLogits, temperature));
    const logPs = tf.logSoftmax(tf.div(studentLogits, temperature));
    return tf.mean(tf.sum(tf.mul(tf.exp(logPt), tf.sub(logPt, logPs)), 1));
  });
}

/**
 * Hinton, Vinyals & Dean (2015): the student matches the teacher's softened
 * distribution and the labels. T^2 keeps the soft term's gradient scale
 * independent of T. Written once; every scheme calls it.
 */
export function kdLoss(
  studentLogits: tf.Tensor2D,
  teacherLogits: tf.Tensor2D | undefined,
  labels: tf.Tensor1D,
  opts: KdLossOptions,
): KdLossParts {
  const { temperature: T, alpha } = opts;
  const ce = crossEntropy(studentLogits, labels);
  // No soft targets (training from labels, the first self-distillation
  // epoch, the teacher itself): plain cross-entropy, whatever alpha says.
  if (!teacherLogits || alpha === 0) return { total: ce, kl: tf.scalar(0), ce };
  const kl = softKl(studentLogits, teacherLogits, T);
  const total = tf.tidy(() => tf.add(tf.mul(kl, alpha * T * T), tf.mul(ce, 1 - alpha))) as tf.Scalar;
  return { total, kl, ce };
}

/**
 * The loss a training step minimises, with [total, kl, ce] for the epoch
 * statistics. Where the wasm training kernels are active, one fused kernel
 * (KdDistillLoss) computes both it and
 * its gradient; elsewhere it is kdLoss op by op. test/loss.test.ts checks
 * that the two agree, values and gradients.
 */
export function kdLossWithStats(
  studentLogits: tf.Tensor2D,
  teacherLogits: tf.Tensor2D | undefined,
  labels: tf.Tensor1D,
  opts: KdLossOptions,
): { total: tf.Scalar; stats: tf.Tensor1D } {
  if (capabilities().active) {
    // without a teacher, the student against itself at alpha 0: KL is 0, the loss plain cross-entropy, as in kdLoss
    const alpha = teacherLogits ? opts.alpha : 0;
    return distillLoss(studentLogits, teacherLogits ?? studentLogits, labels, { temperature: opts.temperature, alpha });
  }
  const parts = kdLoss(studentLogits, teacherLogits, labels, opts);
  return { total: parts.total, stats: tf.stack([parts.total, parts.kl, parts.ce]) as tf.Tensor1D };
}

/**
 * One optimizer step on a loss that also reports [total, kl, ce]: returns
 * the statistics as a tensor the caller's tidy tracks (a tensor kept inside
 * minimize escapes every enclosing tidy, so it is handed over as a clone,
 * which shares its buffer).
 */
export function minimizeWithStats(
  optimizer: tf.Optimizer,
  vars: tf.Variable[],
  loss: () => { total: tf.Scalar; stats: tf.Tensor1D },
): tf.Tensor1D {
  let kept: tf.Tensor1D | undefined;
  optimizer.minimize(
    () => {
      const { total, stats } = loss();
      kept = tf.keep(stats);
      return total;
    },
    false,
    vars,
  );
  const tracked = tf.clone(kept!);
  kept!.dispose();
  return tracked;
}
