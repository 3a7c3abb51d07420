import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { capabilities } from '../capabilities';
import { address } from '../shared/heap';
import type { WasmBackend } from '../shared/heap';
import { biasPoolGeometry } from '../shared/pool';
import { simdKernels } from '../shared/simd';
import { BIAS_RELU_MAX_POOL_GRAD } from './KdBiasReluMaxPoolGrad';

/** max_pool_2x2(relu(z + bias)): a convolution's epilogue and pool as one kernel (wasm only). */
export const BIAS_RELU_MAX_POOL = 'KdBiasReluMaxPool';

const biasReluMaxPoolKernel: KernelFunc = ({ inputs, backend }) => {
  const { z, bias } = inputs as { z: TensorInfo; bias: TensorInfo };
  const wasm = backend as unknown as WasmBackend;
  const { B, H, W, C, OH, OW } = biasPoolGeometry(BIAS_RELU_MAX_POOL, z, bias);
  const out = wasm.makeOutput([B, OH, OW, C], 'float32');
  simdKernels(wasm).bias_relu_max_pool_2x2(address(wasm, z), address(wasm, bias), address(wasm, out), B, H, W, C, OH, OW);
  return out;
};

export const biasReluMaxPoolConfig: KernelConfig = { kernelName: BIAS_RELU_MAX_POOL, backendName: 'wasm', kernelFunc: biasReluMaxPoolKernel };

/** The gradient of KdBiasReluMaxPool, at z and the bias, from one kernel. */
export const biasReluMaxPoolGradient: GradConfig = {
  kernelName: BIAS_RELU_MAX_POOL,
  inputsToSave: ['z', 'bias'],
  gradFunc: (dy, saved) => {
    const [z, bias] = saved;
    const [dz, db] = tf.engine().runKernel(BIAS_RELU_MAX_POOL_GRAD, { dy: dy as tf.Tensor, z, bias }) as tf.Tensor[];
    return { z: () => dz, bias: () => db };
  },
};


/**
 * Whether maxPool2x2(relu(z + bias)) can run as one KdBiasReluMaxPool kernel
 * on the current backend: on wasm, with channels a multiple of 4.
 */
export function canBiasReluMaxPool(channels: number): boolean {
  return capabilities().active && channels % 4 === 0;
}

/**
 * maxPool(relu(z + bias), 2x2, stride 2, valid) for a convolution's output z
 * computed without its bias: the bias, ReLU and pool in one pass forward,
 * and in one pass backward, where the pool gradient and the ReLU + bias
 * gradient each read and wrote an activation-sized buffer (bench:profile:
 * MaxPoolGrad + KdReluGradBias were 1.5 ms of a 9.6 ms separable-CNN step,
 * and the kernels that slowed most with a second trainer on the other core).
 */
export function biasReluMaxPool(z: tf.Tensor4D, bias: tf.Tensor1D): tf.Tensor4D {
  return tf.engine().runKernel(BIAS_RELU_MAX_POOL, { z, bias }) as tf.Tensor4D;
}
