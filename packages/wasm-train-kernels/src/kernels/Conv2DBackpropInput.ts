import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { fullCorrelationInput, inputGradientByForward } from '../shared/compose';
import type { ConvGradAttrs } from '../shared/compose';
import type { WasmBackend } from '../shared/heap';
import { convolve } from './Conv2D';

/**
 * The filter rotated by 180 degrees with in/out channels swapped, written in
 * the heap: rotated[i, j, o, c] = w[fh-1-i, fw-1-j, c, o]. (tf.reverse on
 * wasm runs the cpu backend's per-element loop: 0.4 ms for 9k weights.)
 */
function rotateFilter(wasm: WasmBackend, filter: TensorInfo): TensorInfo {
  const [fh, fw, C, N] = filter.shape;
  const out = wasm.makeOutput([fh, fw, N, C], 'float32');
  const src = wasm.typedArrayFromHeap(filter) as Float32Array;
  const dst = wasm.typedArrayFromHeap(out) as Float32Array;
  for (let i = 0; i < fh; i++) {
    for (let j = 0; j < fw; j++) {
      const from = ((fh - 1 - i) * fw + (fw - 1 - j)) * C * N;
      const to = (i * fw + j) * N * C;
      for (let c = 0; c < C; c++) for (let o = 0; o < N; o++) dst[to + o * C + c] = src[from + c * N + o];
    }
  }
  return out;
}

/**
 * dx is the full correlation of the (stride-dilated) output gradient with the
 * filter rotated by 180 degrees and its in/out channels swapped: one forward
 * convolution, which on wasm is much faster than the backend's own
 * Conv2DBackpropInput (measured in bench/train).
 */
const conv2dBackpropInput: KernelFunc = ({ inputs, attrs, backend }) => {
  const { dy, filter } = inputs as { dy: tf.Tensor4D; filter: tf.Tensor4D };
  return inputGradientByForward({
    kernel: 'Conv2DBackpropInput',
    attrs: attrs as unknown as ConvGradAttrs & { inputShape: [number, number, number, number] },
    dy,
    filter,
    backend,
    depthwise: false,
    rotate: rotateFilter,
    forward: (wasm, dy, rotated) => convolve(wasm, dy, rotated, { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1 }),
    viaOps: (info) => tf.conv2d(fullCorrelationInput(dy, info), tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D, 1, 'valid'),
  });
};

export const conv2dBackpropInputConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropInput',
  backendName: 'wasm',
  kernelFunc: conv2dBackpropInput,
};
