import * as tf from '@tensorflow/tfjs';
import { KdError } from '../errors';
import { biasReluMaxPool, canBiasReluMaxPool, canConvReluPool, conv2dBiasRelu, convReluPool } from '../model/fused-conv';
import { isUnit } from '../model/unit-stride';
import type { StorageSettings } from '../space/student';
import { fakeQuantizer } from './fake-quant';

/** Logits of a batch; `training` turns dropout on. */
export type Forward = (x: tf.Tensor, training: boolean) => tf.Tensor2D;

const ACTIVATIONS = new Set(['relu', 'linear', 'softmax']);

function activate(name: string, x: tf.Tensor): tf.Tensor {
  if (name === 'relu') return tf.relu(x);
  if (name === 'softmax') return tf.softmax(x);
  return x;
}

/**
 * Why the replay cannot run a layer (undefined when it can): it covers what
 * src/model/build.ts makes, and a teacher-copy student of a user's teacher
 * may hold anything else (batch norm, convolutions without bias, dilation).
 */
function notReplayable(layer: tf.layers.Layer): string | undefined {
  const c = layer.getConfig() as Record<string, unknown>;
  const name = layer.getClassName();
  if (['Flatten', 'Dropout'].includes(name)) return undefined;
  if (name === 'MaxPooling2D') return c.dataFormat === 'channelsFirst' ? `${name} with channelsFirst data` : undefined;
  if (!['Dense', 'Conv2D', 'SeparableConv2D'].includes(name)) return `layer ${name}`;
  if (c.useBias === false) return `${name} without a bias`;
  if (!ACTIVATIONS.has(String(c.activation ?? 'linear'))) return `${name} with activation "${String(c.activation)}"`;
  if (name !== 'Dense' && (c.dataFormat === 'channelsFirst' || !isUnit(c.dilationRate))) return `${name} with channelsFirst data or dilation`;
  return undefined;
}

/** A convolution's output + bias, then its activation: one fused kernel for ReLU, the common case. */
function convolveActivate(activation: string, x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor, strides: [number, number] | number, pad: 'valid' | 'same'): tf.Tensor {
  if (activation === 'relu') return conv2dBiasRelu(x, filter, bias as tf.Tensor1D, { strides, pad });
  return activate(activation, tf.add(tf.conv2d(x, filter, strides, pad), bias));
}

const unchanged = (w: tf.Tensor) => w;

const isReluConv = (kind: string, c: Record<string, any>) => (kind === 'Conv2D' || kind === 'SeparableConv2D') && c.activation === 'relu';

/** A 2x2 max pool at stride 2 without padding (the students' pool). */
const isPool2x2 = (kind: string | undefined, c: Record<string, any> | undefined) =>
  kind === 'MaxPooling2D' && c !== undefined && [...c.poolSize, ...(c.strides ?? c.poolSize)].every((v: number) => v === 2) && c.padding === 'valid';

/**
 * The training forward pass: a replay of the model's layers (the same
 * weights and arithmetic as model.apply) that runs each convolution with its
 * bias and ReLU as one kernel, which tfjs-layers does not do while a
 * gradient is recorded; and, for quantization-aware training, reads every
 * weight through a fake quantizer. A model with a layer the replay does not
 * cover trains through model.apply, or, under quantization-aware training,
 * is refused. Which kernels it fuses is decided once, for the backend
 * current when it is made (a trial's backend does not change).
 */
export function studentForward(model: tf.LayersModel, storage?: StorageSettings): Forward {
  const quantized = storage !== undefined && storage.qat && storage.precision !== 'float32';
  const uncovered = model.layers.map(notReplayable).find((why) => why !== undefined);
  if (uncovered) {
    if (quantized) throw new KdError('SPEC_INVALID', `quantization-aware training does not support ${uncovered}`);
    return (x, training) => model.apply(x, { training }) as tf.Tensor2D;
  }
  const plain = quantized ? fakeQuantizer(storage, false) : unchanged;
  const depthwise = quantized ? fakeQuantizer(storage, true) : unchanged;
  // read once: getConfig serialises the whole layer, and the variables are
  // the same objects for the model's life (training assigns their values)
  const layers = model.layers.map((layer) => ({ kind: layer.getClassName(), c: layer.getConfig() as Record<string, any>, w: layer.weights.map((v) => v.read()) }));
  // a ReLU convolution followed by a 2x2 pool: on a backend (this one) that
  // has the kernels, the whole block runs as one direct kernel over few input
  // channels (a first layer over images), or else the bias, ReLU and pool
  // run as one kernel after the convolution
  const poolAfter = layers.map((layer, i) => isReluConv(layer.kind, layer.c) && isPool2x2(layers[i + 1]?.kind, layers[i + 1]?.c) && canBiasReluMaxPool(layer.c.filters));
  const direct = layers.map((layer, i) => poolAfter[i] && layer.kind === 'Conv2D' && canConvReluPool(layer.w[0].shape, layer.c as { strides: number | [number, number]; dilationRate?: number | [number, number] }));
  return (x, training) => {
    let h = x;
    for (let i = 0; i < layers.length; i++) {
      const { kind, c, w } = layers[i];
      const pooled = poolAfter[i];
      switch (kind) {
        case 'Flatten':
          h = tf.reshape(h, [h.shape[0], -1]);
          break;
        case 'Dense':
          h = activate(c.activation ?? 'linear', tf.add(tf.matMul(h, plain(w[0])), plain(w[1])));
          break;
        case 'Conv2D':
          h = direct[i]
            ? convReluPool(h as tf.Tensor4D, plain(w[0]) as tf.Tensor4D, plain(w[1]) as tf.Tensor1D, c.padding)
            : pooled
            ? biasReluMaxPool(tf.conv2d(h as tf.Tensor4D, plain(w[0]) as tf.Tensor4D, c.strides, c.padding), plain(w[1]) as tf.Tensor1D)
            : convolveActivate(c.activation ?? 'linear', h as tf.Tensor4D, plain(w[0]) as tf.Tensor4D, plain(w[1]), c.strides, c.padding);
          break;
        case 'SeparableConv2D': {
          // Keras' order: depthwise (no bias), then pointwise 1x1 with the bias
          const spatial = tf.depthwiseConv2d(h as tf.Tensor4D, depthwise(w[0]) as tf.Tensor4D, c.strides, c.padding);
          h = pooled
            ? biasReluMaxPool(tf.conv2d(spatial, plain(w[1]) as tf.Tensor4D, 1, 'valid'), plain(w[2]) as tf.Tensor1D)
            : convolveActivate(c.activation ?? 'linear', spatial, plain(w[1]) as tf.Tensor4D, plain(w[2]), 1, 'valid');
          break;
        }
        case 'MaxPooling2D':
          h = tf.maxPool(h as tf.Tensor4D, c.poolSize, c.strides, c.padding);
          break;
        case 'Dropout':
          if (training && c.rate > 0) h = tf.dropout(h, c.rate);
          break;
        default:
          throw new KdError('INTERNAL', `the training replay has no case for layer ${kind}`);
      }
      if (pooled) i++; // the pool ran with the convolution
    }
    return h as tf.Tensor2D;
  };
}
