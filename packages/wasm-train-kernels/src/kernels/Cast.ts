import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { shareBuffer } from '../shared/heap';
import type { WasmBackend } from '../shared/heap';
import { runWasmKernel } from '../shared/original';

/**
 * ReLU's gradient casts its float32 step mask to float32, and the backend
 * copies the mask to do it; a cast to the same type shares the buffer, as
 * the cpu backend's does (heap.ts).
 */
const cast: KernelFunc = ({ inputs, attrs, backend }) => {
  const { x } = inputs as { x: TensorInfo };
  const { dtype } = attrs as unknown as { dtype: string };
  const wasm = backend as unknown as WasmBackend;
  const same = dtype === x.dtype && x.dtype !== 'string' && x.dtype !== 'complex64';
  return same ? shareBuffer(wasm, x) : runWasmKernel('Cast', wasm, { x }, attrs);
};

export const castConfig: KernelConfig = {
  kernelName: 'Cast',
  backendName: 'wasm',
  kernelFunc: cast,
};
