import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { WasmBackend } from './heap';
import { runWasmKernel } from './original';

/**
 * While gradients are recorded, the engine clones every tensor a backward
 * pass will need (38 activations per small-CNN step), and the backend's
 * Identity copies each one. Tensors are immutable in tfjs (variables swap
 * buffers, kernels write only their own fresh outputs), so a clone can share
 * its buffer under the reference count, as the backend's Reshape already does.
 */
const identity: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x } = inputs as { x: TensorInfo };
  const wasm = backend as unknown as WasmBackend;
  if (x.dtype === 'string') return runWasmKernel('Identity', wasm, { x }, attrs);
  wasm.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

export const identityConfig: KernelConfig = {
  kernelName: 'Identity',
  backendName: 'wasm',
  kernelFunc: identity,
};
