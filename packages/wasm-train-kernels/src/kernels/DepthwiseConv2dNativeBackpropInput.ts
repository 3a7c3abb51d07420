import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { fullCorrelationInput, inputGradientByForward } from '../shared/compose';
import type { ConvGradAttrs } from '../shared/compose';
import type { WasmBackend } from '../shared/heap';
import { runWasmKernel } from '../shared/original';

/** A depthwise filter [fh, fw, C, 1] rotated by 180 degrees, written in the heap. */
function rotateDepthwiseFilter(wasm: WasmBackend, filter: TensorInfo): TensorInfo {
  const [fh, fw, C] = filter.shape;
  const out = wasm.makeOutput(filter.shape, 'float32');
  const src = wasm.typedArrayFromHeap(filter) as Float32Array;
  const dst = wasm.typedArrayFromHeap(out) as Float32Array;
  for (let tap = 0; tap < fh * fw; tap++) dst.set(src.subarray((fh * fw - 1 - tap) * C, (fh * fw - tap) * C), tap * C);
  return out;
}

/**
 * dx[b,h,w,c] = sum over m of the full correlation of dy[..., c*M+m] with the
 * rotated filter tap w[:,:,c,m]: one forward depthwise convolution over C*M
 * channels, then a sum over the multiplier.
 */
const depthwiseBackpropInput: KernelFunc = ({ inputs, attrs, backend }) => {
  const { dy, filter } = inputs as { dy: tf.Tensor4D; filter: tf.Tensor4D };
  const a = attrs as unknown as ConvGradAttrs & { inputShape: [number, number, number, number] };
  const [batch, height, width, channels] = a.inputShape;
  const [fh, fw, , multiplier] = filter.shape;
  return inputGradientByForward({
    kernel: 'DepthwiseConv2dNativeBackpropInput',
    attrs: a,
    dy,
    filter,
    backend,
    depthwise: true,
    heapPathFits: multiplier === 1,
    rotate: rotateDepthwiseFilter,
    forward: (wasm, dy, rotated) => runWasmKernel('DepthwiseConv2dNative', wasm, { x: dy, filter: rotated }, { strides: 1, pad: 'same', dilations: 1 }),
    viaOps: (info) => {
      const rotated = tf.reshape(tf.reverse(filter, [0, 1]), [fh, fw, channels * multiplier, 1]) as tf.Tensor4D;
      const perTap = tf.depthwiseConv2d(fullCorrelationInput(dy, info), rotated, 1, 'valid');
      return multiplier === 1 ? perTap : tf.sum(tf.reshape(perTap, [batch, height, width, channels, multiplier]), 4);
    },
  });
};

export const depthwiseBackpropInputConfig: KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropInput',
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropInput,
};
