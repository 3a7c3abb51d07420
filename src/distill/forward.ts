import * as tf from '@tensorflow/tfjs';
import { KdError } from '../errors';
import { conv2dBiasRelu } from '../model/fused-conv';
import type { StorageSettings } from '../space/student';
import { fakeQuantizer } from './fake-quant';

/** Logits of a batch; `training` turns dropout on. */
export type Forward = (x: tf.Tensor, training: boolean) => tf.Tensor2D;

function activate(name: unknown, x: tf.Tensor): tf.Tensor {
  if (name === 'relu') return tf.relu(x);
  if (name === 'linear' || name === undefined || name === null) return x;
  if (name === 'softmax') return tf.softmax(x);
  throw new KdError('SPEC_INVALID', `kdsearch's training forward does not support activation "${String(name)}"`);
}

/** A convolution's output + bias, then its activation: one fused kernel for ReLU, the common case. */
function convolveActivate(activation: unknown, x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor, strides: [number, number] | number, pad: 'valid' | 'same'): tf.Tensor {
  if (activation === 'relu') return conv2dBiasRelu(x, filter, bias as tf.Tensor1D, { strides, pad });
  return activate(activation, tf.add(tf.conv2d(x, filter, strides, pad), bias));
}

const unchanged = (w: tf.Tensor) => w;

/**
 * The training forward pass of a model kdsearch built: a replay of its
 * layers (the same weights and arithmetic as model.apply) that runs each
 * convolution with its bias and ReLU as one kernel, which tfjs-layers does
 * not do while a gradient is recorded; and, for quantization-aware
 * training, reads every weight through a fake quantizer. The replay covers
 * the layer types src/model/build.ts makes.
 */
export function studentForward(model: tf.LayersModel, storage?: StorageSettings): Forward {
  const quantized = storage !== undefined && storage.qat && storage.precision !== 'float32';
  const plain = quantized ? fakeQuantizer(storage, false) : unchanged;
  const depthwise = quantized ? fakeQuantizer(storage, true) : unchanged;
  return (x, training) => {
    let h = x;
    for (const layer of model.layers) {
      const c = layer.getConfig() as Record<string, any>;
      const w = layer.weights.map((v) => v.read());
      switch (layer.getClassName()) {
        case 'Flatten':
          h = tf.reshape(h, [h.shape[0], -1]);
          break;
        case 'Dense':
          h = activate(c.activation, tf.add(tf.matMul(h, plain(w[0])), plain(w[1])));
          break;
        case 'Conv2D':
          h = convolveActivate(c.activation, h as tf.Tensor4D, plain(w[0]) as tf.Tensor4D, plain(w[1]), c.strides, c.padding);
          break;
        case 'SeparableConv2D':
          // Keras' order: depthwise (no bias), then pointwise 1x1 with the bias
          h = convolveActivate(
            c.activation,
            tf.depthwiseConv2d(h as tf.Tensor4D, depthwise(w[0]) as tf.Tensor4D, c.strides, c.padding),
            plain(w[1]) as tf.Tensor4D,
            plain(w[2]),
            1,
            'valid',
          );
          break;
        case 'MaxPooling2D':
          h = tf.maxPool(h as tf.Tensor4D, c.poolSize, c.strides, c.padding);
          break;
        case 'Dropout':
          if (training && c.rate > 0) h = tf.dropout(h, c.rate);
          break;
        default:
          throw new KdError('SPEC_INVALID', `kdsearch's training forward does not support layer ${layer.getClassName()}`);
      }
    }
    return h as tf.Tensor2D;
  };
}
