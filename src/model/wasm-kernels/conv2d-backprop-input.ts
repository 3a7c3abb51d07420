import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { assertNhwc, fullCorrelationInput } from './compose';

/**
 * dx is the full correlation of the (stride-dilated) output gradient with the
 * filter rotated by 180 degrees and its in/out channels swapped: one forward
 * convolution, which on wasm is much faster than the backend's own
 * Conv2DBackpropInput (measured in bench/train).
 */
const conv2dBackpropInput: KernelFunc = ({ inputs, attrs }) => {
  const { dy, filter } = inputs as { dy: tf.Tensor4D; filter: tf.Tensor4D };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as {
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dataFormat?: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    inputShape: [number, number, number, number];
  };
  assertNhwc('Conv2DBackpropInput', dataFormat);
  const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape, strides, 1, pad, dimRoundingMode);
  // A stride-1 'same' convolution with an odd filter pads evenly, and so does
  // its full correlation: the backend's 'same' padding then replaces a PadV2.
  const sameShape = pad === 'same' && info.strideHeight === 1 && info.strideWidth === 1 && info.filterHeight % 2 === 1 && info.filterWidth % 2 === 1;
  return tf.tidy(() => {
    const rotated = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    if (sameShape) return tf.conv2d(dy, rotated, 1, 'same');
    return tf.conv2d(fullCorrelationInput(dy, info), rotated, 1, 'valid');
  }) as unknown as TensorInfo;
};

export const conv2dBackpropInputConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropInput',
  backendName: 'wasm',
  kernelFunc: conv2dBackpropInput,
};
