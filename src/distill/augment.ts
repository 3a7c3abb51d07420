import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../core/rng';

/**
 * Random translation by up to `maxShift` pixels per image, seeded: pad the
 * batch, then crop a shifted window per image with cropAndResize (integer
 * aligned boxes make it an exact copy, no interpolation).
 */
export function randomShift(x: tf.Tensor4D, maxShift: number, rng: Rng): tf.Tensor4D {
  const [b, h, w] = x.shape;
  const padded = tf.pad(x, [
    [0, 0],
    [maxShift, maxShift],
    [maxShift, maxShift],
    [0, 0],
  ]);
  const ph = h + 2 * maxShift - 1;
  const pw = w + 2 * maxShift - 1;
  const boxes: number[][] = [];
  for (let i = 0; i < b; i++) {
    const dy = rng.int(2 * maxShift + 1);
    const dx = rng.int(2 * maxShift + 1);
    boxes.push([dy / ph, dx / pw, (dy + h - 1) / ph, (dx + w - 1) / pw]);
  }
  const boxIndices = Array.from({ length: b }, (_, i) => i);
  return tf.image.cropAndResize(padded, tf.tensor2d(boxes), tf.tensor1d(boxIndices, 'int32'), [h, w], 'bilinear');
}
