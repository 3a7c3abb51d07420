import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/model/backend';

export const ROOT = join(__dirname, '..', '..');
export const CLI = join(__dirname, '..', 'src', 'cli.js');

export function tempDir(prefix = 'kdsearch-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Tests run on wasm, the backend every user has. */
export async function useWasm(): Promise<void> {
  await initBackend('wasm');
  await tf.setBackend('wasm');
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
