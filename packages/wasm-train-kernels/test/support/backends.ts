import * as tf from '@tensorflow/tfjs-core';
import { register } from '../../src/register';

/**
 * The two backends every differential test compares: cpu (tfjs's pure-JS
 * reference) and wasm with this package's kernels registered. Leaves wasm
 * active.
 */
export async function setUpBackends(): Promise<void> {
  // tfjs's gradients and its cpu backend come with the union package
  require('@tensorflow/tfjs');
  require('@tensorflow/tfjs-backend-wasm');
  register();
  // the cpu backend prints a "use tfjs-node" banner when created; chosen on purpose here
  const warn = console.warn;
  console.warn = () => {};
  try {
    await tf.setBackend('cpu');
  } finally {
    console.warn = warn;
  }
  await tf.setBackend('wasm');
  await tf.ready();
}
