import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { assertUnitDilation, fullCorrelationInput, isEvenlyPaddedStride1 } from './compose';
import type { WasmBackend } from './heap';
import { runWasmKernel } from './original';

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
  const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs as unknown as {
    strides: [number, number] | number;
    dilations?: [number, number] | number;
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    inputShape: [number, number, number, number];
  };
  assertUnitDilation('DepthwiseConv2dNativeBackpropInput', dilations);
  const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape, strides, 1, pad, dimRoundingMode, true);
  const [batch, height, width, channels] = inputShape;
  const [fh, fw, , multiplier] = filter.shape;
  if (multiplier === 1 && isEvenlyPaddedStride1(info) && filter.dtype === 'float32') {
    // evenly padded: the full correlation is a 'same' one, with no PadV2 and no reverse
    const wasm = backend as unknown as WasmBackend;
    const rotated = rotateDepthwiseFilter(wasm, filter);
    const dx = runWasmKernel('DepthwiseConv2dNative', wasm, { x: dy, filter: rotated }, { strides: 1, pad: 'same', dilations: 1 });
    wasm.disposeData(rotated.dataId);
    return dx;
  }
  return tf.tidy(() => {
    const padded = fullCorrelationInput(dy, info);
    const rotated = tf.reshape(tf.reverse(filter, [0, 1]), [fh, fw, channels * multiplier, 1]) as tf.Tensor4D;
    const perTap = tf.depthwiseConv2d(padded, rotated, 1, 'valid');
    if (multiplier === 1) return perTap;
    return tf.sum(tf.reshape(perTap, [batch, height, width, channels, multiplier]), 4);
  }) as unknown as TensorInfo;
};

export const depthwiseBackpropInputConfig: KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropInput',
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropInput,
};
