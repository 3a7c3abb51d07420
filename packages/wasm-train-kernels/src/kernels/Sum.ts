import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { address } from '../shared/heap';
import type { WasmBackend } from '../shared/heap';
import { runWasmKernel } from '../shared/original';
import { simdKernels } from '../shared/simd';

/**
 * Every bias gradient is a sum over all axes but the channels. The backend
 * transposes the channels to the front and then reduces (1.5 ms for a
 * 64x28x28x16 activation, bench:profile); summing rows of channels in place
 * needs no transpose. Other reductions go to the backend's kernel.
 */
const sum: KernelFunc = ({ inputs, attrs, backend }) => {
  const { x } = inputs as { x: TensorInfo };
  const { axis, keepDims } = attrs as unknown as { axis: number | number[]; keepDims: boolean };
  const wasm = backend as unknown as WasmBackend;
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
  const channels = x.shape[rank - 1];
  const allButLast = rank >= 2 && axes.length === rank - 1 && axes.every((a, i) => a === i);
  const rows = tf.util.sizeFromShape(x.shape.slice(0, -1));
  if (!allButLast || x.dtype !== 'float32' || channels % 4 !== 0 || channels === 0 || rows === 0) {
    return runWasmKernel('Sum', wasm, { x }, attrs);
  }
  const outInfo = wasm.makeOutput(keepDims ? [...Array(rank - 1).fill(1), channels] : [channels], 'float32');
  simdKernels(wasm).sum_rows(address(wasm, x), address(wasm, outInfo), rows, channels);
  return outInfo;
};

export const sumConfig: KernelConfig = {
  kernelName: 'Sum',
  backendName: 'wasm',
  kernelFunc: sum,
};
