import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, NamedTensorMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { NamedTensor } from '@tensorflow/tfjs-core/dist/tensor_types';
import { address } from '../shared/heap';
import type { WasmBackend } from '../shared/heap';
import { simdKernels } from '../shared/simd';

/** The kernel FusedAdam runs per variable. */
export const ADAM_UPDATE = 'KdAdamUpdate';

export interface AdamUpdateAttrs {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** 1 - beta1^t and 1 - beta2^t, as float32 (tfjs keeps beta^t in float32 scalars). */
  oneMinusAccBeta1: number;
  oneMinusAccBeta2: number;
}

/**
 * One Adam step of one variable: returns w' from w and its gradient, and
 * updates the moments m and v in place. One pass instead of the 12 kernels
 * tf.train.adam runs per variable (each with its own allocation and JS
 * overhead).
 *
 * The moments belong to the optimizer alone (FusedAdam never shares
 * them), so writing them in place is safe and keeps the optimizer's
 * cache footprint at one copy: for the MLP's first layer, 800 kB less
 * memory touched per step. w' is always a fresh buffer, never w's own: the
 * backend caches XNNPACK operators with their packed weights by the weight
 * buffer, so a matrix product would keep multiplying by the old values
 * (the bit-identity test with tf.train.adam fails if w' reuses w).
 */
const adamUpdate: KernelFunc = ({ inputs, attrs, backend }) => {
  const { w, g, m, v } = inputs as { w: TensorInfo; g: TensorInfo; m: TensorInfo; v: TensorInfo };
  const a = attrs as unknown as AdamUpdateAttrs;
  const wasm = backend as unknown as WasmBackend;
  const wOut = wasm.makeOutput(w.shape, 'float32');
  const n = w.shape.reduce((x, y) => x * y, 1);
  const f = Math.fround;
  // each element is read, then written, at the same index: m and v can be their own outputs
  simdKernels(wasm).adam_update(
    address(wasm, w), address(wasm, g), address(wasm, m), address(wasm, v),
    address(wasm, wOut), address(wasm, m), address(wasm, v), n,
    f(-a.learningRate), f(a.beta1), f(1 - a.beta1), f(a.beta2), f(1 - a.beta2), f(a.epsilon), f(a.oneMinusAccBeta1), f(a.oneMinusAccBeta2),
  );
  return wOut;
};

export const adamUpdateConfig: KernelConfig = {
  kernelName: ADAM_UPDATE,
  backendName: 'wasm',
  kernelFunc: adamUpdate,
};

const BETA1 = 0.9;
const BETA2 = 0.999;

/**
 * Adam with tf.train.adam's defaults and arithmetic, one kernel per variable
 * and step (KdAdamUpdate) instead of twelve: on the wasm backend a small
 * student's optimizer step was ~100 tiny kernels of JS overhead and garbage.
 * Same operations in the same order, so the same numbers (test/adam.test.ts).
 */
export class FusedAdam extends tf.Optimizer {
  static get className(): string {
    return 'KdFusedAdam';
  }

  /** Per variable name, in the order of the first step's variables (getWeights' order). */
  private readonly moments = new Map<string, { m: tf.Tensor; v: tf.Tensor }>();
  /** Moments restored by setWeights, by position: claimed by the next step's variables in order (names differ between processes). */
  private restored: Array<{ m: tf.Tensor; v: tf.Tensor }> = [];
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
    entries.forEach(([name, gradient], i) => {
      if (gradient == null) return;
      const variable = tf.engine().registeredVariables[name];
      let state = this.moments.get(name);
      if (!state) {
        const restored = this.restored[i];
        if (restored && !tf.util.arraysEqual(restored.m.shape, variable.shape)) {
          throw new Error(`FusedAdam.setWeights: moment ${i} has shape [${restored.m.shape}], variable ${name} [${variable.shape}]`);
        }
        state = restored ?? { m: tf.keep(tf.zerosLike(variable)), v: tf.keep(tf.zerosLike(variable)) };
        this.moments.set(name, state);
      }
      // updates state.m and state.v in place (they are never shared)
      const w = tf.engine().runKernel(ADAM_UPDATE, { w: variable, g: gradient, m: state.m, v: state.v }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
      variable.assign(w);
      w.dispose();
    });
    this.restored = [];
    this.accBeta1 = Math.fround(this.accBeta1 * Math.fround(BETA1));
    this.accBeta2 = Math.fround(this.accBeta2 * Math.fround(BETA2));
    this.incrementIterations();
  }

  /**
   * tf.train.adam's layout: the step count, then every first moment, then
   * every second moment, in the order of the first step's variables.
   */
  override async getWeights(): Promise<NamedTensor[]> {
    const states = [...this.moments.entries()];
    return [
      await this.saveIterations(),
      ...states.map(([name, s]) => ({ name: `${name}/m`, tensor: s.m })),
      ...states.map(([name, s]) => ({ name: `${name}/v`, tensor: s.v })),
    ];
  }

  /**
   * Restores getWeights' output, from this optimizer or another one's (in
   * another process the variables have other names): the moments go to the
   * next step's variables by position, and beta^t is recomputed by the same
   * float32 products the steps made, so a restored run continues bit for bit.
   */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const moments = await this.extractIterations(weightValues);
    if (moments.length % 2 !== 0) throw new Error(`FusedAdam.setWeights: expected first and second moments in pairs, got ${moments.length} tensors`);
    this.dispose();
    const half = moments.length / 2;
    this.restored = moments.slice(0, half).map((m, i) => ({ m: tf.keep(m.tensor.clone()), v: tf.keep(moments[half + i].tensor.clone()) }));
    this.accBeta1 = Math.fround(BETA1);
    this.accBeta2 = Math.fround(BETA2);
    for (let t = 0; t < this.iterations; t++) {
      this.accBeta1 = Math.fround(this.accBeta1 * Math.fround(BETA1));
      this.accBeta2 = Math.fround(this.accBeta2 * Math.fround(BETA2));
    }
  }

  override dispose(): void {
    for (const { m, v } of [...this.moments.values(), ...this.restored]) tf.dispose([m, v]);
    this.moments.clear();
    this.restored = [];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.learningRate, beta1: BETA1, beta2: BETA2, epsilon: this.epsilon };
  }
}
