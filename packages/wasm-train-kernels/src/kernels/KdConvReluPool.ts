import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { capabilities } from '../capabilities';
import { convReluPoolGeometry } from '../shared/conv-relu-pool';
import type { ConvReluPoolAttrs } from '../shared/conv-relu-pool';
import { address } from '../shared/heap';
import type { WasmBackend } from '../shared/heap';
import { padSpatial } from '../shared/pad';
import { simdKernels } from '../shared/simd';
import { isUnit } from '../shared/unit-stride';
import { BIAS_RELU_MAX_POOL_GRAD } from './KdBiasReluMaxPoolGrad';
import { CONV_RELU_POOL_GRAD } from './KdConvReluPoolGrad';

/** max_pool_2x2(relu(conv2d(x, filter, stride 1) + bias)) computed directly (wasm only). */
export const CONV_RELU_POOL = 'KdConvReluPool';

const convReluPoolKernel: KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, filter, bias } = inputs as { x: TensorInfo; filter: TensorInfo; bias: TensorInfo };
  const wasm = backend as unknown as WasmBackend;
  const g = convReluPoolGeometry(CONV_RELU_POOL, x, filter, bias, (attrs as unknown as ConvReluPoolAttrs).pad);
  const out = wasm.makeOutput([g.B, g.OH, g.OW, g.C], 'float32');
  const xp = padSpatial(wasm, x, g.pads);
  simdKernels(wasm).conv_relu_pool_2x2(address(wasm, xp), address(wasm, filter), address(wasm, bias), address(wasm, out), g.B, g.Hp, g.Wp, g.Cin, g.C, g.K, g.OH, g.OW);
  if (xp !== x) wasm.disposeData(xp.dataId);
  return out;
};

export const convReluPoolConfig: KernelConfig = { kernelName: CONV_RELU_POOL, backendName: 'wasm', kernelFunc: convReluPoolKernel };

/**
 * The gradient of KdConvReluPool. The filter's and the bias's come from one
 * kernel that recomputes each window instead of reading a stored
 * activation. The input's (never asked for in training, where this op is a
 * first layer over images) is composed from the separate kernels: the
 * convolution, KdBiasReluMaxPoolGrad, then the input gradient.
 */
export const convReluPoolGradient: GradConfig = {
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
  return capabilities().active && fh === fw && inChannels <= DIRECT_CONV_MAX_IN_CHANNELS && outChannels % 8 === 0 && isUnit(geometry.strides) && isUnit(geometry.dilationRate);
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
