import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { address } from './heap';
import type { WasmBackend } from './heap';
import { simdKernels } from './simd';

/** The kernel kdsearch's fused Adam runs per variable (src/distill/adam.ts). */
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
 * The moments belong to the optimizer alone (src/distill/adam.ts never
 * shares them), so writing them in place is safe and keeps the optimizer's
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
