import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';
import { KernelError } from '../errors';

/**
 * The slice of tfjs-backend-wasm's BackendWasm that kdsearch's JS kernels
 * use: every tensor lives in the module's linear memory, so a kernel can read
 * its inputs and write its output in place, with no copy to or from the host.
 */
export interface WasmBackend {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: object): boolean;
  incRef(dataId: object): void;
  /** Where each tensor's data starts in the module's memory. */
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  /** The Emscripten module; its linear memory is where every tensor lives. */
  wasm: { asm: { memory: WebAssembly.Memory } };
}

/**
 * Float32 views of kernel inputs and a freshly allocated output. The output
 * is allocated first: allocation can grow the wasm memory, which detaches
 * every view taken before it.
 */
export function heapViews(backend: WasmBackend, inputs: TensorInfo[], outShape: number[]): { ins: Float32Array[]; out: Float32Array; outInfo: TensorInfo } {
  const outInfo = backend.makeOutput(outShape, 'float32');
  const ins = inputs.map((t) => backend.typedArrayFromHeap(t) as Float32Array);
  const out = backend.typedArrayFromHeap(outInfo) as Float32Array;
  return { ins, out, outInfo };
}

/** The byte offset of a tensor's data in the backend's memory (no view is made). */
export function address(backend: WasmBackend, info: TensorInfo): number {
  const data = backend.dataIdMap.get(info.dataId);
  if (!data) throw new KernelError('INTERNAL', 'kdsearch wasm kernel: a tensor has no data on the wasm backend');
  return data.memoryOffset;
}

/**
 * The same tensor under a new reference: tensors are immutable in tfjs
 * (variables swap buffers, kernels write only their own fresh outputs), so
 * a clone or a same-type cast can share the buffer under the reference
 * count, as the backend's own Reshape does.
 */
export function shareBuffer(backend: WasmBackend, x: TensorInfo): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}
