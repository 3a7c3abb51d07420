import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { shareBuffer } from '../shared/heap';
import type { WasmBackend } from '../shared/heap';
import { runWasmKernel } from '../shared/original';

/**
 * While gradients are recorded, the engine clones every tensor a backward
 * pass will need (38 activations per small-CNN step), and the backend's
 * Identity copies each one; a clone shares the buffer instead (heap.ts).
 */
const identity: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x } = inputs as { x: TensorInfo };
  const wasm = backend as unknown as WasmBackend;
  return x.dtype === 'string' ? runWasmKernel('Identity', wasm, { x }, attrs) : shareBuffer(wasm, x);
};

export const identityConfig: KernelConfig = {
  kernelName: 'Identity',
  backendName: 'wasm',
  kernelFunc: identity,
};
