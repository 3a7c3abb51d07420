import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { WasmBackend } from './heap';
import { runWasmKernel } from './original';

/**
 * ReLU's gradient casts its float32 step mask to float32, and the backend
 * copies the mask to do it; a cast to the same type shares the buffer, as
 * the cpu backend does (see identity.ts for why sharing is safe).
 */
const cast: KernelFunc = ({ inputs, attrs, backend }) => {
  const { x } = inputs as { x: TensorInfo };
  const { dtype } = attrs as unknown as { dtype: string };
  const wasm = backend as unknown as WasmBackend;
  if (dtype !== x.dtype || x.dtype === 'string' || x.dtype === 'complex64') return runWasmKernel('Cast', wasm, { x }, attrs);
  wasm.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

export const castConfig: KernelConfig = {
  kernelName: 'Cast',
  backendName: 'wasm',
  kernelFunc: cast,
};
