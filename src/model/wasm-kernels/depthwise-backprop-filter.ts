import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { assertUnitDilation, padOrCrop } from './compose';

/**
 * dW[i,j,c,m] = sum over b,y,x of xPad[b, y*s+i, x*s+j, c] * dy[b,y,x,c*M+m].
 * One strided slice of the padded input per filter tap, multiplied by the
 * output gradient and summed: kh*kw small ops, memory of one activation.
 */
const depthwiseBackpropFilter: KernelFunc = ({ inputs, attrs }) => {
  const { x, dy } = inputs as { x: tf.Tensor4D; dy: tf.Tensor4D };
  const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs as unknown as {
    strides: [number, number] | number;
    dilations?: [number, number] | number;
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    filterShape: [number, number, number, number];
  };
  assertUnitDilation('DepthwiseConv2dNativeBackpropFilter', dilations);
  const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, 1, pad, dimRoundingMode, true);
  const [batch, , , channels] = x.shape;
  const multiplier = filterShape[3];
  const { outHeight, outWidth, strideHeight, strideWidth, filterHeight, filterWidth } = info;
  return tf.tidy(() => {
    const xp = padOrCrop(x, info.padInfo.top, info.padInfo.bottom, info.padInfo.left, info.padInfo.right);
    const dy5 = tf.reshape(dy, [batch, outHeight, outWidth, channels, multiplier]);
    const taps: tf.Tensor[] = [];
    for (let i = 0; i < filterHeight; i++) {
      for (let j = 0; j < filterWidth; j++) {
        const patch = tf.stridedSlice(
          xp,
          [0, i, j, 0],
          [batch, i + (outHeight - 1) * strideHeight + 1, j + (outWidth - 1) * strideWidth + 1, channels],
          [1, strideHeight, strideWidth, 1],
        );
        taps.push(tf.sum(tf.mul(tf.expandDims(patch, 4), dy5), [0, 1, 2]));
      }
    }
    return tf.reshape(tf.stack(taps), filterShape);
  }) as unknown as TensorInfo;
};

export const depthwiseBackpropFilterConfig: KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropFilter',
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropFilter,
};
