import * as tf from '@tensorflow/tfjs';
import { KdError } from '../core/errors';
import { register } from '@kdsearch/wasm-train-kernels';
import type { BackendChoice } from '../core/backends';

export type BackendName = 'node' | 'wasm' | 'cpu';

/** tfjs-node registers its backend as 'tensorflow'; users know it as "node". */
const TFJS_NAME: Record<BackendName, string> = { node: 'tensorflow', wasm: 'wasm', cpu: 'cpu' };

let active: BackendName | undefined;

function tryLoadNode(): string | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@tensorflow/tfjs-node');
    return undefined;
  } catch (err) {
    return (err as Error).message.split('\n')[0];
  }
}

async function activate(name: BackendName): Promise<boolean> {
  if (name === 'wasm') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@tensorflow/tfjs-backend-wasm');
  }
  // kdsearch's training kernels for wasm, and the gradients of their fused
  // ops, which the training forward also runs on the other backends
  register();
  // The cpu backend prints a "use tfjs-node" banner through console.warn when
  // it is created; it is chosen on purpose here, so the banner is noise.
  const warn = console.warn;
  if (name === 'cpu') console.warn = () => {};
  try {
    return await tf.setBackend(TFJS_NAME[name]);
  } finally {
    console.warn = warn;
  }
}

/**
 * Picks the compute backend: tfjs-node when it loads (an optional dependency
 * whose install downloads libtensorflow), else wasm (SIMD, read from the
 * package, no network), else the slow pure-JS cpu reference.
 */
export async function initBackend(choice: BackendChoice = 'auto'): Promise<BackendName> {
  if (active && (choice === 'auto' || choice === active)) {
    await tf.setBackend(TFJS_NAME[active]);
    return active;
  }
  const order: BackendName[] = choice === 'auto' ? ['node', 'wasm', 'cpu'] : [choice];
  const reasons: string[] = [];
  for (const name of order) {
    if (name === 'node') {
      const reason = tryLoadNode();
      if (reason) {
        reasons.push(`node: @tensorflow/tfjs-node did not load (${reason})`);
        continue;
      }
    }
    try {
      if (await activate(name)) {
        await tf.ready();
        active = name;
        return name;
      }
      reasons.push(`${name}: tf.setBackend returned false`);
    } catch (err) {
      reasons.push(`${name}: ${(err as Error).message}`);
    }
  }
  throw new KdError('BACKEND_UNAVAILABLE', `backend "${choice}" is not available:\n  ${reasons.join('\n  ')}`);
}
