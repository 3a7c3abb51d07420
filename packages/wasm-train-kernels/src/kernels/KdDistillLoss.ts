import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { WasmBackend } from '../shared/heap';

/** kdsearch's fused distillation loss (distillLoss below). */
export const DISTILL_LOSS = 'KdDistillLoss';

/**
 * Hinton et al.'s loss and its gradient with respect to the student logits,
 * in one pass over the [batch, classes] logits (float64 in JS: they are a
 * few hundred numbers). Outputs: total (scalar), [total, kl, ce], and
 *   d total / d s = alpha*T*(softmax(s/T) - softmax(t/T))/B + (1-alpha)*(softmax(s) - onehot(y))/B.
 * The op-by-op loss is ~60 tiny kernels with their tape closures, each one
 * JS overhead and garbage, on every training step.
 */
const distillLossKernel: KernelFunc = ({ inputs, attrs, backend }) => {
  const { s, t, y } = inputs as { s: TensorInfo; t: TensorInfo; y: TensorInfo };
  const { temperature: T, alpha } = attrs as unknown as { temperature: number; alpha: number };
  const wasm = backend as unknown as WasmBackend;
  const [B, K] = s.shape;
  const totalInfo = wasm.makeOutput([], 'float32');
  const statsInfo = wasm.makeOutput([3], 'float32');
  const gradInfo = wasm.makeOutput([B, K], 'float32');
  const sv = wasm.typedArrayFromHeap(s) as Float32Array;
  const tv = wasm.typedArrayFromHeap(t) as Float32Array;
  const yv = wasm.typedArrayFromHeap(y);
  const grad = wasm.typedArrayFromHeap(gradInfo) as Float32Array;
  const pS = new Float64Array(K);
  const pT = new Float64Array(K);
  const p = new Float64Array(K);
  let kl = 0;
  let ce = 0;
  /** Fills out with softmax(v[row] / temp) and returns log of its normaliser (log-sum-exp of v/temp). */
  const softmax = (v: Float32Array, row: number, temp: number, out: Float64Array): number => {
    let max = -Infinity;
    for (let k = 0; k < K; k++) max = Math.max(max, v[row + k] / temp);
    let sum = 0;
    for (let k = 0; k < K; k++) sum += out[k] = Math.exp(v[row + k] / temp - max);
    for (let k = 0; k < K; k++) out[k] /= sum;
    return max + Math.log(sum);
  };
  for (let b = 0; b < B; b++) {
    const row = b * K;
    const lseS = softmax(sv, row, T, pS);
    const lseT = softmax(tv, row, T, pT);
    const lse = softmax(sv, row, 1, p);
    for (let k = 0; k < K; k++) {
      // pT * (log pT - log pS), with log softmax(v/T) = v/T - lse
      if (pT[k] > 0) kl += pT[k] * (tv[row + k] / T - lseT - (sv[row + k] / T - lseS));
    }
    const label = yv[b];
    ce -= sv[row + label] - lse;
    for (let k = 0; k < K; k++) {
      grad[row + k] = (alpha * T * (pS[k] - pT[k]) + (1 - alpha) * (p[k] - (k === label ? 1 : 0))) / B;
    }
  }
  kl /= B;
  ce /= B;
  const total = alpha * T * T * kl + (1 - alpha) * ce;
  (wasm.typedArrayFromHeap(totalInfo) as Float32Array)[0] = total;
  (wasm.typedArrayFromHeap(statsInfo) as Float32Array).set([total, kl, ce]);
  return [totalInfo, statsInfo, gradInfo];
};

export const distillLossConfig: KernelConfig = {
  kernelName: DISTILL_LOSS,
  backendName: 'wasm',
  kernelFunc: distillLossKernel,
};

/** Only the total is differentiated; teacher logits and labels are constants. */
export const distillLossGradient: GradConfig = {
  kernelName: DISTILL_LOSS,
  outputsToSave: [false, false, true],
  gradFunc: (dy, saved) => {
    const [dTotal] = dy as tf.Tensor[];
    const [grad] = saved;
    return { s: () => tf.mul(dTotal, grad), t: () => tf.zerosLike(grad), y: () => tf.zeros([grad.shape[0]]) };
  },
};

export interface DistillLossAttrs {
  /** Softening temperature T > 0. */
  temperature: number;
  /** Weight of the distillation term, in [0, 1]. */
  alpha: number;
}

/**
 * alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) * CE(y, s),
 * batch means, as one KdDistillLoss kernel (the wasm training kernels must
 * be active: see capabilities()). Returns the total, differentiable with
 * respect to s only, and [total, kl, ce] for statistics.
 */
export function distillLoss(s: tf.Tensor2D, t: tf.Tensor2D, labels: tf.Tensor1D, attrs: DistillLossAttrs): { total: tf.Scalar; stats: tf.Tensor1D } {
  return tf.tidy(() => {
    const [total, stats] = tf.engine().runKernel(DISTILL_LOSS, { s, t, y: tf.cast(labels, 'int32') }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    return { total: total as tf.Scalar, stats: stats as tf.Tensor1D };
  });
}
