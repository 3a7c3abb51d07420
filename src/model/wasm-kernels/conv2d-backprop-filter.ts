import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { assertNhwc, padOrCrop } from './compose';

/**
 * dW[i,j,c,o] = sum over b,y,x of xPad[b, y*s+i, x*s+j, c] * dy[b,y,x,o]:
 * a correlation of the input with the output gradient. With the channel and
 * batch axes swapped it is one stride-1 convolution, dilated by the forward
 * stride, that XNNPACK runs as a single GEMM-shaped kernel.
 */
const conv2dBackpropFilter: KernelFunc = ({ inputs, attrs }) => {
  const { x, dy } = inputs as { x: tf.Tensor4D; dy: tf.Tensor4D };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as {
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dataFormat?: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    filterShape: [number, number, number, number];
  };
  assertNhwc('Conv2DBackpropFilter', dataFormat);
  const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, 1, pad, dimRoundingMode);
  return tf.tidy(() => {
    const xp = padOrCrop(x, info.padInfo.top, info.padInfo.bottom, info.padInfo.left, info.padInfo.right);
    const xT = tf.transpose(xp, [3, 1, 2, 0]);
    const dyT = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
    const r = tf.conv2d(xT, dyT, 1, 'valid', 'NHWC', [info.strideHeight, info.strideWidth]);
    const cropped = tf.slice(r, [0, 0, 0, 0], [info.inChannels, info.filterHeight, info.filterWidth, info.outChannels]);
    return tf.transpose(cropped, [1, 2, 0, 3]);
  }) as unknown as TensorInfo;
};

export const conv2dBackpropFilterConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilter,
};
