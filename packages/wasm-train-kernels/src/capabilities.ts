import * as tf from '@tensorflow/tfjs-core';

let registered = false;

/** Called by register() once the kernels are in tfjs's registry. */
export function markRegistered(): void {
  registered = true;
}

export interface Capabilities {
  /** The active tfjs backend's name ('' before any is set). */
  backend: string;
  /** Whether register() has put these kernels in tfjs's registry. */
  registered: boolean;
  /** Both: the backend is wasm and these kernels are its kernels. Every fast path asks this. */
  active: boolean;
}

/**
 * What the fast paths may use now. The wasm backend alone is not enough:
 * without register() it has no kernel of this package (and no convolution
 * filter gradient at all).
 */
export function capabilities(): Capabilities {
  const backend = tf.getBackend() ?? '';
  return { backend, registered, active: registered && backend === 'wasm' };
}
