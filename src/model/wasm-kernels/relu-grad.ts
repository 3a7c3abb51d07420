import * as tf from '@tensorflow/tfjs';
import type { GradConfig, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { address } from './heap';
import type { WasmBackend } from './heap';
import { simdKernels } from './simd';

/** kdsearch's fused ReLU gradient kernel (wasm only). */
export const RELU_GRAD = 'KdReluGrad';

/** dx = dy * step(x) in one SIMD pass, bit-identical to tfjs's Step + Multiply. */
const reluGrad: KernelFunc = ({ inputs, backend }) => {
  const { dy, x } = inputs as { dy: TensorInfo; x: TensorInfo };
  const wasm = backend as unknown as WasmBackend;
  const dx = wasm.makeOutput(x.shape, 'float32');
  simdKernels(wasm).relu_grad(address(wasm, dy), address(wasm, x), address(wasm, dx), tf.util.sizeFromShape(x.shape));
  return dx;
};

export const reluGradKernelConfig: KernelConfig = {
  kernelName: RELU_GRAD,
  backendName: 'wasm',
  kernelFunc: reluGrad,
};

/** kdsearch's ReLU gradient with its bias gradient (wasm only). */
export const RELU_GRAD_BIAS = 'KdReluGradBias';

/** [dz, db]: dz as KdReluGrad, db its sum over all axes but the last (a multiple of 4). */
const reluGradBias: KernelFunc = ({ inputs, backend }) => {
  const { dy, x } = inputs as { dy: TensorInfo; x: TensorInfo };
  const wasm = backend as unknown as WasmBackend;
  const channels = x.shape[x.shape.length - 1];
  const dz = wasm.makeOutput(x.shape, 'float32');
  const db = wasm.makeOutput([channels], 'float32');
  simdKernels(wasm).relu_grad_bias(address(wasm, dy), address(wasm, x), address(wasm, dz), address(wasm, db), tf.util.sizeFromShape(x.shape) / channels, channels);
  return [dz, db];
};

export const reluGradBiasKernelConfig: KernelConfig = {
  kernelName: RELU_GRAD_BIAS,
  backendName: 'wasm',
  kernelFunc: reluGradBias,
};

/**
 * ReLU's gradient as tfjs defines it, mul(dy, step(x)), except on wasm where
 * the two kernels (and a 3 MB intermediate for a first-layer activation) are
 * one pass: 0.4 + 0.3 ms per step for the small CNN's first layer
 * (bench:profile). x may be ReLU's input or its output: both are positive in
 * the same places.
 */
export function reluBackprop(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  if (tf.getBackend() === 'wasm' && x.dtype === 'float32' && dy.dtype === 'float32') return tf.engine().runKernel(RELU_GRAD, { dy, x }) as tf.Tensor;
  return tf.mul(dy, tf.cast(tf.step(x), 'float32'));
}

/**
 * The gradients of ReLU(z + bias) at its output y: dz, and db = dz summed
 * over all axes but the channels. One pass on wasm (channels a multiple of
 * 4); elsewhere reluBackprop, then a sum.
 */
export function reluBiasBackprop(dy: tf.Tensor, y: tf.Tensor): { dz: tf.Tensor; db: () => tf.Tensor } {
  const channels = y.shape[y.rank - 1];
  if (tf.getBackend() === 'wasm' && y.dtype === 'float32' && dy.dtype === 'float32' && channels % 4 === 0 && y.size > 0) {
    const [dz, db] = tf.engine().runKernel(RELU_GRAD_BIAS, { dy, x: y }) as tf.Tensor[];
    return { dz, db: () => db };
  }
  const dz = reluBackprop(dy, y);
  return { dz, db: () => tf.sum(dz, [...Array(y.rank - 1).keys()]) };
}

/** Gradients are registered for every backend: the others keep tfjs's own formula through reluBackprop. */
export const reluGradient: GradConfig = {
  kernelName: 'Relu',
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved;
    return { x: () => reluBackprop(dy as tf.Tensor, x) };
  },
};
