import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import type { WasmBackend } from './heap';
import { KdError } from '../../core/errors';

/**
 * The backend's own kernel functions, captured before kdsearch registers its
 * replacements (once: registration runs on every backend switch, and must
 * not capture its own wrapper).
 */
const originals = new Map<string, KernelConfig>();

/** Remembers the backend's kernel; returns it (undefined where the backend has none). */
export function captureOriginal(kernelName: string): KernelConfig | undefined {
  if (!originals.has(kernelName)) {
    const config = tf.getKernel(kernelName, 'wasm');
    if (config) originals.set(kernelName, config);
  }
  return originals.get(kernelName);
}

/** Runs a wasm kernel (the backend's own when kdsearch replaced it) on raw tensor infos. */
export function runWasmKernel(kernelName: string, backend: WasmBackend, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap = {}): TensorInfo {
  const fn = (originals.get(kernelName) ?? tf.getKernel(kernelName, 'wasm'))?.kernelFunc;
  if (!fn) throw new KdError('INTERNAL', `wasm kernel ${kernelName} is not registered`);
  return fn({ inputs, attrs, backend: backend as unknown as tf.KernelBackend }) as TensorInfo;
}

/** A reshaped view (the wasm Reshape shares the buffer); dispose it with backend.disposeData. */
export function reshapeInfo(backend: WasmBackend, x: TensorInfo, shape: number[]): TensorInfo {
  return runWasmKernel('Reshape', backend, { x }, { shape });
}
