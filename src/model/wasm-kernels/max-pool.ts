import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { address } from './heap';
import type { WasmBackend } from './heap';
import { runWasmKernel } from './original';
import { simdKernels } from './simd';

/**
 * The students' 2x2 stride-2 pools as one SIMD pass (XNNPACK's general pool
 * took 1.3 ms for a 64x28x28x16 activation, bench:profile); other pools go
 * to the backend's kernel.
 */
const maxPool: KernelFunc = ({ inputs, attrs, backend }) => {
  const { x } = inputs as { x: TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as {
    filterSize: [number, number] | number;
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  const wasm = backend as unknown as WasmBackend;
  const info = tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const { batchSize, inHeight, inWidth, inChannels: C, outHeight, outWidth } = info;
  const tiled2x2 =
    info.filterHeight === 2 && info.filterWidth === 2 && info.strideHeight === 2 && info.strideWidth === 2 && info.padInfo.top === 0 && info.padInfo.left === 0 &&
    outHeight * 2 <= inHeight && outWidth * 2 <= inWidth && C % 4 === 0 && x.dtype === 'float32';
  if (!tiled2x2) return runWasmKernel('MaxPool', wasm, { x }, attrs);
  const out = wasm.makeOutput([batchSize, outHeight, outWidth, C], 'float32');
  if (batchSize > 0) simdKernels(wasm).max_pool_2x2(address(wasm, x), address(wasm, out), batchSize, inHeight, inWidth, C, outHeight, outWidth);
  return out;
};

export const maxPoolConfig: KernelConfig = {
  kernelName: 'MaxPool',
  backendName: 'wasm',
  kernelFunc: maxPool,
};
