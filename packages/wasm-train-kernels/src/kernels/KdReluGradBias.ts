import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { capabilities } from '../capabilities';
import { address } from '../shared/heap';
import type { WasmBackend } from '../shared/heap';
import { simdKernels } from '../shared/simd';
import { reluBackprop } from './KdReluGrad';

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

export const reluGradBiasConfig: KernelConfig = {
  kernelName: RELU_GRAD_BIAS,
  backendName: 'wasm',
  kernelFunc: reluGradBias,
};

/**
 * The gradients of ReLU(z + bias) at its output y: dz, and db = dz summed
 * over all axes but the channels. One pass where these kernels are active
 * (channels a multiple of 4); elsewhere reluBackprop, then a sum.
 */
export function reluBiasBackprop(dy: tf.Tensor, y: tf.Tensor): { dz: tf.Tensor; db: () => tf.Tensor } {
  const channels = y.shape[y.rank - 1];
  if (capabilities().active && y.dtype === 'float32' && dy.dtype === 'float32' && channels % 4 === 0 && y.size > 0) {
    const [dz, db] = tf.engine().runKernel(RELU_GRAD_BIAS, { dy, x: y }) as tf.Tensor[];
    return { dz, db: () => db };
  }
  const dz = reluBackprop(dy, y);
  return { dz, db: () => tf.sum(dz, [...Array(y.rank - 1).keys()]) };
}
