import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { address } from '../shared/heap';
import type { WasmBackend } from '../shared/heap';
import { runWasmKernel } from '../shared/original';
import { simdKernels } from '../shared/simd';

/**
 * Every convolution's bias is a broadcasting add of a [C] (or [1,1,1,C])
 * vector to an [..., C] activation, which the backend indexes element by
 * element (1.5 ms for a 64x28x28x16 activation, ten times a plain add of the
 * same size; bench:profile). Rows of channels plus the bias, as SIMD; every
 * other add goes to the backend's kernel.
 */
const add: KernelFunc = ({ inputs, attrs, backend }) => {
  const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
  const wasm = backend as unknown as WasmBackend;
  const channels = a.shape[a.shape.length - 1];
  const biasLike =
    a.dtype === 'float32' && b.dtype === 'float32' && a.shape.length >= 2 && b.shape.length <= a.shape.length &&
    b.shape.length >= 1 && b.shape[b.shape.length - 1] === channels && b.shape.slice(0, -1).every((d) => d === 1) && channels % 4 === 0;
  if (!biasLike) return runWasmKernel('Add', wasm, { a, b }, attrs);
  const rows = tf.util.sizeFromShape(a.shape.slice(0, -1));
  const out = wasm.makeOutput(a.shape, 'float32');
  simdKernels(wasm).add_rows(address(wasm, a), address(wasm, b), address(wasm, out), rows, channels);
  return out;
};

export const addConfig: KernelConfig = {
  kernelName: 'Add',
  backendName: 'wasm',
  kernelFunc: add,
};
