import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { WasmBackend } from './heap';
import { KernelError } from '../errors';

/**
 * The backend's own kernel functions, captured before kdsearch registers its
 * replacements (once: registration runs on every backend switch, and must
 * not capture its own wrapper).
 */
const originals = new Map<string, KernelConfig | undefined>();

/**
 * Remembers the backend's kernel, or that it has none; returns it (undefined
 * where the backend has none). Only the first call looks: later ones would
 * find this package's own kernel.
 */
export function captureOriginal(kernelName: string): KernelConfig | undefined {
  if (!originals.has(kernelName)) originals.set(kernelName, tf.getKernel(kernelName, 'wasm'));
  return originals.get(kernelName);
}

/** Runs a wasm kernel (the backend's own when kdsearch replaced it) on raw tensor infos. */
export function runWasmKernel(kernelName: string, backend: WasmBackend, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap = {}): TensorInfo {
  const fn = (originals.get(kernelName) ?? tf.getKernel(kernelName, 'wasm'))?.kernelFunc;
  if (!fn) throw new KernelError('INTERNAL', `wasm kernel ${kernelName} is not registered`);
  return fn({ inputs, attrs, backend: backend as unknown as tf.KernelBackend }) as TensorInfo;
}

/** A reshaped view (the wasm Reshape shares the buffer); dispose it with backend.disposeData. */
export function reshapeInfo(backend: WasmBackend, x: TensorInfo, shape: number[]): TensorInfo {
  return runWasmKernel('Reshape', backend, { x }, { shape });
}
