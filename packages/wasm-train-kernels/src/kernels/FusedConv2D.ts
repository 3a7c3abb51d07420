import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { KernelError } from '../errors';
import type { WasmBackend } from '../shared/heap';
import { runWasmKernel } from '../shared/original';
import { winogradOrNull } from './Conv2D';
import type { Conv2DAttrs } from './Conv2D';
import { reluBiasBackprop } from './KdReluGradBias';

interface FusedConv2DAttrs extends Conv2DAttrs {
  activation?: string;
}

/**
 * relu(conv2d(x, filter) + bias), the kernel tfjs's fused convolution and
 * conv2dBiasRelu below run: Winograd with
 * the bias and ReLU applied as each output tile is written, so the
 * activation is written once instead of three times; every other case (other
 * activations, PReLU weights, a bias that is not one value per channel,
 * shapes Winograd does not take) goes to the backend's XNNPACK kernel, which
 * fuses them too.
 */
const fusedConv2d: KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, filter, bias, preluActivationWeights } = inputs as Record<string, TensorInfo | undefined>;
  const wasm = backend as unknown as WasmBackend;
  const { activation = 'linear' } = attrs as unknown as FusedConv2DAttrs;
  const outChannels = filter!.shape[3];
  const fusable =
    (activation === 'linear' || activation === 'relu') && !preluActivationWeights &&
    (!bias || (bias.dtype === 'float32' && tf.util.sizeFromShape(bias.shape) === outChannels));
  const fused = fusable ? winogradOrNull(wasm, x!, filter!, attrs as unknown as Conv2DAttrs, { bias, relu: activation === 'relu' }) : null;
  return fused ?? runWasmKernel('FusedConv2D', wasm, inputs as Record<string, TensorInfo>, attrs as tf.NamedAttrMap);
};

export const fusedConv2dConfig: KernelConfig = {
  kernelName: 'FusedConv2D',
  backendName: 'wasm',
  kernelFunc: fusedConv2d,
};

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
export const fusedConv2dGradient: GradConfig = {
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
      throw new KernelError('INTERNAL', `FusedConv2D has a gradient for linear and relu activations only, not "${activation}"`);
    }
    if (!tf.backend_util.eitherStridesOrDilationsAreOne(strides, dilations)) {
      throw new KernelError('INTERNAL', 'FusedConv2D gradient: strides and dilations cannot both exceed 1');
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
