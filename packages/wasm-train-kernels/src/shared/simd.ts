import type { WasmBackend } from './heap';
import { SIMD_KERNELS_BASE64 } from '../generated/simd-binary';
import type { SimdKernels } from '../generated/simd-exports';

let compiled: WebAssembly.Module | undefined;
let bound: { memory: WebAssembly.Memory; kernels: SimdKernels } | undefined;

/**
 * kdsearch's SIMD kernels, instantiated on the wasm backend's own memory so
 * they work on tensors in place (no copies). Compiled from bytes shipped in
 * the package: nothing is fetched.
 */
export function simdKernels(backend: WasmBackend): SimdKernels {
  const memory = backend.wasm.asm.memory;
  if (bound?.memory === memory) return bound.kernels;
  compiled ??= new WebAssembly.Module(Buffer.from(SIMD_KERNELS_BASE64, 'base64'));
  const instance = new WebAssembly.Instance(compiled, { env: { memory } });
  bound = { memory, kernels: instance.exports as unknown as SimdKernels };
  return bound.kernels;
}
