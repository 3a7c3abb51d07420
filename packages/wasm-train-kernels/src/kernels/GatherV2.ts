import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { WasmBackend } from '../shared/heap';
import { runWasmKernel } from '../shared/original';
import { KernelError } from '../errors';

/**
 * Batches are gathered by row from resident training tensors on every step.
 * The backend's Gather walks element by element (1.5 ms for 64 MNIST rows);
 * rows along axis 0 are contiguous, so they are block copies. Other axes go
 * to the backend's kernel.
 */
const gatherV2: KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, indices } = inputs as { x: TensorInfo; indices: TensorInfo };
  const { axis, batchDims } = attrs as unknown as { axis: number; batchDims: number };
  const wasm = backend as unknown as WasmBackend;
  const parsedAxis = tf.util.parseAxisParam(axis, x.shape)[0];
  if (parsedAxis !== 0 || batchDims !== 0 || x.dtype === 'string' || x.dtype === 'complex64' || x.shape.length === 0) {
    return runWasmKernel('GatherV2', wasm, inputs as Record<string, TensorInfo>, attrs);
  }
  const rows = x.shape[0];
  const rowSize = tf.util.sizeFromShape(x.shape.slice(1));
  const outInfo = wasm.makeOutput([...indices.shape, ...x.shape.slice(1)], x.dtype);
  const idx = wasm.typedArrayFromHeap(indices);
  const src = wasm.typedArrayFromHeap(x);
  const dst = wasm.typedArrayFromHeap(outInfo);
  for (let i = 0; i < idx.length; i++) {
    const row = idx[i];
    if (!(row >= 0 && row < rows)) {
      wasm.disposeData(outInfo.dataId);
      throw new KernelError('INTERNAL', `GatherV2: the index value ${row} is not in [0, ${rows - 1}]`);
    }
    dst.set(src.subarray(row * rowSize, (row + 1) * rowSize), i * rowSize);
  }
  return outInfo;
};

export const gatherV2Config: KernelConfig = {
  kernelName: 'GatherV2',
  backendName: 'wasm',
  kernelFunc: gatherV2,
};
