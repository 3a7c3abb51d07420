import * as tf from '@tensorflow/tfjs';
import { KdError } from '../errors';
import type { StorageSettings } from '../space/student';
import { fakeQuantizer } from './fake-quant';

/** Logits of a batch; `training` turns dropout on. */
export type Forward = (x: tf.Tensor, training: boolean) => tf.Tensor2D;

function activate(name: unknown, x: tf.Tensor): tf.Tensor {
  if (name === 'relu') return tf.relu(x);
  if (name === 'linear' || name === undefined || name === null) return x;
  if (name === 'softmax') return tf.softmax(x);
  throw new KdError('SPEC_INVALID', `quantization-aware training does not support activation "${String(name)}"`);
}

/**
 * The model's own forward pass, or for quantization-aware training a replay
 * of its layers that reads every weight through a fake quantizer. The
 * replay covers the layer types kdsearch builds.
 */
export function studentForward(model: tf.LayersModel, storage: StorageSettings): Forward {
  if (!storage.qat || storage.precision === 'float32') return (x, training) => model.apply(x, { training }) as tf.Tensor2D;
  const plain = fakeQuantizer(storage, false);
  const depthwise = fakeQuantizer(storage, true);
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
          h = activate(c.activation, tf.add(tf.conv2d(h as tf.Tensor4D, plain(w[0]) as tf.Tensor4D, c.strides, c.padding), plain(w[1])));
          break;
        case 'SeparableConv2D':
          h = activate(
            c.activation,
            tf.add(tf.separableConv2d(h as tf.Tensor4D, depthwise(w[0]) as tf.Tensor4D, plain(w[1]) as tf.Tensor4D, c.strides, c.padding), plain(w[2])),
          );
          break;
        case 'MaxPooling2D':
          h = tf.maxPool(h as tf.Tensor4D, c.poolSize, c.strides, c.padding);
          break;
        case 'Dropout':
          if (training && c.rate > 0) h = tf.dropout(h, c.rate);
          break;
        default:
          throw new KdError('SPEC_INVALID', `quantization-aware training does not support layer ${layer.getClassName()}`);
      }
    }
    return h as tf.Tensor2D;
  };
}
