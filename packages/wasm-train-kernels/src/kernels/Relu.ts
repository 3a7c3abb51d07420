import type * as tf from '@tensorflow/tfjs-core';
import type { GradConfig } from '@tensorflow/tfjs-core';
import { capabilities } from '../capabilities';
import { reluBackprop } from './KdReluGrad';

/**
 * ReLU's gradient through KdReluGrad where these kernels are active. tfjs
 * keeps one gradient per kernel name for every backend, so the one it
 * replaces is kept and still runs everywhere else.
 */
export function reluGradient(original: GradConfig | undefined): GradConfig {
  return {
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      if (original && !capabilities().active) return original.gradFunc(dy, saved, attrs);
      const [x] = saved;
      return { x: () => reluBackprop(dy as tf.Tensor, x) };
    },
  };
}
