import * as tf from '@tensorflow/tfjs';
import { INT8_LIMIT } from '../model/quantize';
import type { StorageSettings } from '../space/student';

/**
 * The values a weight takes once stored at `precision`, computed with tensor
 * ops (the same symmetric int8 grid as post-training quantization; float16 by
 * rounding the mantissa to 10 bits).
 */
function quantizedValues(w: tf.Tensor, storage: StorageSettings, depthwise: boolean): tf.Tensor {
  return tf.tidy(() => {
    if (storage.precision === 'float16') {
      const magnitude = tf.maximum(tf.abs(w), 2 ** -14);
      const step = tf.pow(2, tf.sub(tf.floor(tf.log(magnitude).div(Math.LN2)), 10));
      return tf.mul(tf.round(tf.div(w, step)), step);
    }
    const axes =
      storage.quantization === 'per-tensor' || w.rank === 1
        ? storage.quantization === 'per-tensor'
          ? [...Array(w.rank).keys()]
          : []
        : depthwise && w.rank === 4
          ? [0, 1]
          : [...Array(w.rank - 1).keys()];
    if (axes.length === 0) return w.clone(); // one value per group: stored exactly
    const maxAbs = tf.max(tf.abs(w), axes, true);
    const scale = tf.where(tf.greater(maxAbs, 0), tf.div(maxAbs, INT8_LIMIT), tf.onesLike(maxAbs));
    const codes = tf.clipByValue(tf.round(tf.div(w, scale)), -INT8_LIMIT, INT8_LIMIT);
    return tf.mul(codes, scale);
  });
}

/**
 * Fake quantization with a straight-through gradient: the forward pass sees
 * the stored values, the gradient passes to the float weight unchanged
 * (Bengio et al. 2013; Jacob et al. 2018).
 */
export function fakeQuantizer(storage: StorageSettings, depthwise: boolean): (w: tf.Tensor) => tf.Tensor {
  return tf.customGrad(((w: tf.Tensor) => ({
    value: quantizedValues(w, storage, depthwise),
    gradFunc: (dy: tf.Tensor) => dy,
  })) as never) as (w: tf.Tensor) => tf.Tensor;
}

/** The identity with a zero gradient: the peer's logits are a target, not a path for gradients. */
export const stopGradient = tf.customGrad(((x: tf.Tensor) => ({
  value: x.clone(),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as never) as (x: tf.Tensor) => tf.Tensor;
