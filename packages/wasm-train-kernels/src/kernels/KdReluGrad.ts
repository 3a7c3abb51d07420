import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { capabilities } from '../capabilities';
import { address } from '../shared/heap';
import type { WasmBackend } from '../shared/heap';
import { simdKernels } from '../shared/simd';

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

export const reluGradConfig: KernelConfig = {
  kernelName: RELU_GRAD,
  backendName: 'wasm',
  kernelFunc: reluGrad,
};

/**
 * ReLU's gradient as tfjs defines it, mul(dy, step(x)), except where these
 * kernels are active, where the two kernels (and a 3 MB intermediate for a
 * first-layer activation) are one pass: 0.4 + 0.3 ms per step for the small
 * CNN's first layer (kdsearch's bench:profile). x may be ReLU's input or its
 * output: both are positive in the same places.
 */
export function reluBackprop(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  if (capabilities().active && x.dtype === 'float32' && dy.dtype === 'float32') return tf.engine().runKernel(RELU_GRAD, { dy, x }) as tf.Tensor;
  return tf.mul(dy, tf.cast(tf.step(x), 'float32'));
}
