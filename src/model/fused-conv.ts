import * as tf from '@tensorflow/tfjs';
import type { GradConfig } from '@tensorflow/tfjs';
import { KdError } from '../core/errors';
import { BIAS_RELU_MAX_POOL, BIAS_RELU_MAX_POOL_GRAD } from './wasm-kernels/bias-relu-pool';
import { CONV_RELU_POOL, CONV_RELU_POOL_GRAD } from './wasm-kernels/conv-relu-pool';
import type { ConvReluPoolAttrs } from './wasm-kernels/conv-relu-pool';
import { isUnit } from './unit-stride';
import { reluBiasBackprop } from './wasm-kernels/relu-grad';

export interface ConvGeometry {
  strides: [number, number] | number;
  pad: 'valid' | 'same';
}

/**
 * The gradient of the FusedConv2D kernel with a linear or ReLU activation.
 * tfjs's own fused ops never put that kernel on the tape (they wrap it in a
 * customGrad, and fall back to three separate ops whenever a gradient is
 * recorded and the activation is not linear), so registering it changes
 * nothing of theirs. Each input's gradient is lazy: nothing is computed for
 * an input that needs none, such as a first layer's images.
 */
const fusedConv2dGradient: GradConfig = {
  kernelName: 'FusedConv2D',
  inputsToSave: ['x', 'filter'],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter, y] = saved;
    const { strides, pad, dataFormat, dilations, dimRoundingMode, activation } = attrs as unknown as {
      strides: [number, number] | number;
      pad: ConvGeometry['pad'];
      dataFormat: 'NHWC' | 'NCHW';
      dilations: [number, number] | number;
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
      activation?: string;
    };
    if (activation !== undefined && activation !== 'linear' && activation !== 'relu') {
      throw new KdError('INTERNAL', `FusedConv2D has a gradient for linear and relu activations only, not "${activation}"`);
    }
    if (!tf.backend_util.eitherStridesOrDilationsAreOne(strides, dilations)) {
      throw new KdError('INTERNAL', 'FusedConv2D gradient: strides and dilations cannot both exceed 1');
    }
    const { dz, db } = activation === 'relu' ? reluBiasBackprop(dy as tf.Tensor, y) : { dz: dy as tf.Tensor, db: () => tf.sum(dy as tf.Tensor, [0, 1, 2]) };
    const geometry = { strides, pad, dataFormat, dimRoundingMode };
    return {
      x: () => tf.engine().runKernel('Conv2DBackpropInput', { dy: dz, filter }, { ...geometry, inputShape: x.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
      filter: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: dz }, { ...geometry, filterShape: filter.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
      bias: db,
    };
  },
};

// Gradients are global in tfjs (every backend): registered once, when this module loads.
if (!tf.getGradient(fusedConv2dGradient.kernelName)) tf.registerGradient(fusedConv2dGradient);

/**
 * relu(conv2d(x, filter) + bias) as one FusedConv2D kernel that stays fused
 * when a gradient is recorded (the training forward of a conv layer): one
 * activation buffer written instead of three (conv, + bias, relu), and on
 * wasm one pass instead of three.
 */
export function conv2dBiasRelu(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D, geometry: ConvGeometry): tf.Tensor4D {
  const attrs = { strides: geometry.strides, pad: geometry.pad, dataFormat: 'NHWC', dilations: [1, 1], activation: 'relu' };
  return tf.engine().runKernel('FusedConv2D', { x, filter, bias }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/** The gradient of KdBiasReluMaxPool, at z and the bias, from one kernel. */
const biasReluMaxPoolGradient: GradConfig = {
  kernelName: BIAS_RELU_MAX_POOL,
  inputsToSave: ['z', 'bias'],
  gradFunc: (dy, saved) => {
    const [z, bias] = saved;
    const [dz, db] = tf.engine().runKernel(BIAS_RELU_MAX_POOL_GRAD, { dy: dy as tf.Tensor, z, bias }) as tf.Tensor[];
    return { z: () => dz, bias: () => db };
  },
};

if (!tf.getGradient(biasReluMaxPoolGradient.kernelName)) tf.registerGradient(biasReluMaxPoolGradient);

/**
 * Whether maxPool2x2(relu(z + bias)) can run as one KdBiasReluMaxPool kernel
 * on the current backend: on wasm, with channels a multiple of 4.
 */
export function canBiasReluMaxPool(channels: number): boolean {
  return tf.getBackend() === 'wasm' && channels % 4 === 0;
}

/**
 * maxPool(relu(z + bias), 2x2, stride 2, valid) for a convolution's output z
 * computed without its bias: the bias, ReLU and pool in one pass forward,
 * and in one pass backward, where the pool gradient and the ReLU + bias
 * gradient each read and wrote an activation-sized buffer (bench:profile:
 * MaxPoolGrad + KdReluGradBias were 1.5 ms of a 9.6 ms separable-CNN step,
 * and the kernels that slowed most with a second trainer on the other core).
 */
export function biasReluMaxPool(z: tf.Tensor4D, bias: tf.Tensor1D): tf.Tensor4D {
  return tf.engine().runKernel(BIAS_RELU_MAX_POOL, { z, bias }) as tf.Tensor4D;
}

/**
 * The gradient of KdConvReluPool. The filter's and the bias's come from one
 * kernel that recomputes each window instead of reading a stored
 * activation. The input's (never asked for in training, where this op is a
 * first layer over images) is composed from the separate kernels: the
 * convolution, KdBiasReluMaxPoolGrad, then the input gradient.
 */
const convReluPoolGradient: GradConfig = {
  kernelName: CONV_RELU_POOL,
  inputsToSave: ['x', 'filter', 'bias'],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter, bias] = saved;
    const { pad } = attrs as unknown as ConvReluPoolAttrs;
    const [dw, db] = tf.engine().runKernel(CONV_RELU_POOL_GRAD, { dy: dy as tf.Tensor, x, filter, bias }, { pad } as unknown as tf.NamedAttrMap) as tf.Tensor[];
    return {
      x: () => {
        const z = tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, 1, pad);
        const [dz] = tf.engine().runKernel(BIAS_RELU_MAX_POOL_GRAD, { dy: dy as tf.Tensor, z, bias }) as tf.Tensor[];
        return tf.engine().runKernel('Conv2DBackpropInput', { dy: dz, filter }, { strides: 1, pad, dataFormat: 'NHWC', inputShape: x.shape } as unknown as tf.NamedAttrMap) as tf.Tensor;
      },
      filter: () => dw,
      bias: () => db,
    };
  },
};

if (!tf.getGradient(convReluPoolGradient.kernelName)) tf.registerGradient(convReluPoolGradient);

/**
 * Input channels up to which a first layer's convolution, bias, ReLU and
 * 2x2 pool run as one direct KdConvReluPool: grey or RGB images. Measured
 * (batch 64, 28x28, 3x3, 16 filters, kernels alone and warm in cache;
 * forward + backward against conv, KdBiasReluMaxPool, its gradient and the
 * filter gradient): 1 channel 2.2 against 2.2 ms (and 2.6 against 3.0 in a
 * training step, where the separate kernels' full-size buffers miss the
 * cache), 2 channels 3.4 against 5.6, 3 channels (32x32) 5.9 against 8.1,
 * but 4 channels 5.6 against 3.6, where Winograd and the SIMD filter
 * gradient take over. Output channels: a multiple of 8, because the kernel
 * sums two groups of 4 together and a lone last group costs a whole pair
 * (1 channel in, 4 or 12 out: 1.20 against 1.05 ms and 2.22 against 2.02;
 * 8 out: 1.28 against 1.33).
 */
const DIRECT_CONV_MAX_IN_CHANNELS = 3;

/**
 * Whether maxPool2x2(relu(conv2d(x, filter) + bias)) can run as one
 * KdConvReluPool kernel on the current backend: on wasm, a square stride-1
 * undilated filter over at most DIRECT_CONV_MAX_IN_CHANNELS channels,
 * output channels a multiple of 8 (the kernel itself takes multiples of 4).
 */
export function canConvReluPool(filterShape: readonly number[], geometry: { strides: [number, number] | number; dilationRate?: [number, number] | number }): boolean {
  const [fh, fw, inChannels, outChannels] = filterShape;
  return tf.getBackend() === 'wasm' && fh === fw && inChannels <= DIRECT_CONV_MAX_IN_CHANNELS && outChannels % 8 === 0 && isUnit(geometry.strides) && isUnit(geometry.dilationRate);
}

/**
 * maxPool(relu(conv2d(x, filter, 1, pad) + bias), 2x2, stride 2, valid)
 * as one pass that never writes the convolution's full-size output, and
 * one backward pass that never writes its gradient (wasm only; see
 * canConvReluPool).
 */
export function convReluPool(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D, pad: ConvReluPoolAttrs['pad']): tf.Tensor4D {
  return tf.engine().runKernel(CONV_RELU_POOL, { x, filter, bias }, { pad } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}
