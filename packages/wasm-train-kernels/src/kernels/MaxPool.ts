import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { address } from '../shared/heap';
import type { WasmBackend } from '../shared/heap';
import { runWasmKernel } from '../shared/original';
import { isSimdPool, poolInfo } from '../shared/pool';
import type { PoolAttrs } from '../shared/pool';
import { simdKernels } from '../shared/simd';

/**
 * The students' 2x2 stride-2 pools as one SIMD pass (XNNPACK's general pool
 * took 1.3 ms for a 64x28x28x16 activation, bench:profile); other pools go
 * to the backend's kernel.
 */
const maxPool: KernelFunc = ({ inputs, attrs, backend }) => {
  const { x } = inputs as { x: TensorInfo };
  const wasm = backend as unknown as WasmBackend;
  const info = poolInfo(x.shape, attrs as unknown as PoolAttrs);
  if (!isSimdPool(info) || x.dtype !== 'float32') return runWasmKernel('MaxPool', wasm, { x }, attrs);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  const out = wasm.makeOutput([batchSize, outHeight, outWidth, inChannels], 'float32');
  simdKernels(wasm).max_pool_2x2(address(wasm, x), address(wasm, out), batchSize, inHeight, inWidth, inChannels, outHeight, outWidth);
  return out;
};

export const maxPoolConfig: KernelConfig = {
  kernelName: 'MaxPool',
  backendName: 'wasm',
  kernelFunc: maxPool,
};
