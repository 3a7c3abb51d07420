import * as tf from '@tensorflow/tfjs';
import type { Split } from '../datasets/types';

/** A split as backend tensors: inputs [n, ...shape] and int32 labels. */
export function toResident(split: Split, inputShape: number[]): { x: tf.Tensor; y: tf.Tensor1D } {
  return {
    x: tf.tensor(split.x, [split.n, ...inputShape], 'float32'),
    y: tf.tensor1d(split.y, 'int32'),
  };
}
