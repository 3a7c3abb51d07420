import * as tf from '@tensorflow/tfjs';
import { FusedAdam, capabilities } from '@kdsearch/wasm-train-kernels';

/**
 * The optimizer every training loop uses: the fused Adam where the wasm
 * training kernels are active, tf.train.adam elsewhere. Both use tfjs's
 * defaults (beta1 0.9, beta2 0.999, the backend's epsilon) and give the same
 * numbers (the package's adam test).
 */
export function createAdam(learningRate: number): tf.Optimizer {
  if (capabilities().active) return new FusedAdam(learningRate, tf.backend().epsilon());
  return tf.train.adam(learningRate);
}
