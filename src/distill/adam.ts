import * as tf from '@tensorflow/tfjs';
import type { NamedTensorMap } from '@tensorflow/tfjs';
import { ADAM_UPDATE } from '../model/wasm-kernels/adam-update';
import type { AdamUpdateAttrs } from '../model/wasm-kernels/adam-update';

const BETA1 = 0.9;
const BETA2 = 0.999;

/**
 * Adam with tf.train.adam's defaults and arithmetic, one kernel per variable
 * and step (KdAdamUpdate) instead of twelve: on the wasm backend a small
 * student's optimizer step was ~100 tiny kernels of JS overhead and garbage.
 * Same operations in the same order, so the same numbers (test/wasm-fast-kernels.test.ts).
 */
class FusedAdam extends tf.Optimizer {
  static get className(): string {
    return 'KdFusedAdam';
  }

  private readonly moments = new Map<string, { m: tf.Tensor; v: tf.Tensor }>();
  /** beta^t kept in float32, as tf.train.adam keeps it in float32 scalars. */
  private accBeta1 = Math.fround(BETA1);
  private accBeta2 = Math.fround(BETA2);

  constructor(
    private readonly learningRate: number,
    private readonly epsilon: number,
  ) {
    super();
  }

  override applyGradients(variableGradients: NamedTensorMap | { name: string; tensor: tf.Tensor }[]): void {
    const entries = Array.isArray(variableGradients) ? variableGradients.map((v) => [v.name, v.tensor] as const) : Object.entries(variableGradients);
    const attrs: AdamUpdateAttrs = {
      learningRate: this.learningRate,
      beta1: BETA1,
      beta2: BETA2,
      epsilon: this.epsilon,
      oneMinusAccBeta1: Math.fround(1 - this.accBeta1),
      oneMinusAccBeta2: Math.fround(1 - this.accBeta2),
    };
    for (const [name, gradient] of entries) {
      if (gradient == null) continue;
      const variable = tf.engine().registeredVariables[name];
      let state = this.moments.get(name);
      if (!state) {
        state = { m: tf.keep(tf.zerosLike(variable)), v: tf.keep(tf.zerosLike(variable)) };
        this.moments.set(name, state);
      }
      // updates state.m and state.v in place (they are never shared)
      const w = tf.engine().runKernel(ADAM_UPDATE, { w: variable, g: gradient, m: state.m, v: state.v }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
      variable.assign(w);
      w.dispose();
    }
    this.accBeta1 = Math.fround(this.accBeta1 * Math.fround(BETA1));
    this.accBeta2 = Math.fround(this.accBeta2 * Math.fround(BETA2));
    this.incrementIterations();
  }

  override dispose(): void {
    for (const { m, v } of this.moments.values()) tf.dispose([m, v]);
    this.moments.clear();
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.learningRate, beta1: BETA1, beta2: BETA2, epsilon: this.epsilon };
  }
}

/**
 * The optimizer every training loop uses: the fused Adam where its kernel
 * exists (wasm), tf.train.adam elsewhere. Both use tfjs's defaults (beta1
 * 0.9, beta2 0.999, the backend's epsilon).
 */
export function createAdam(learningRate: number): tf.Optimizer {
  if (tf.getBackend() === 'wasm' && tf.getKernel(ADAM_UPDATE, 'wasm')) return new FusedAdam(learningRate, tf.backend().epsilon());
  return tf.train.adam(learningRate);
}
