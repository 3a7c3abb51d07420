import type { WeightEntry } from '../core/weights';
import type { StoredWeight } from './quantize';

/** All weights of a student in one buffer (transferred from the worker, stored as one BLOB). */
export function packWeights(weights: readonly StoredWeight[]): { manifest: WeightEntry[]; buffer: ArrayBuffer } {
  const total = weights.reduce((a, w) => a + alignedLength(w.data.byteLength), 0);
  const buffer = new ArrayBuffer(total);
  const bytes = new Uint8Array(buffer);
  const manifest: WeightEntry[] = [];
  let offset = 0;
  for (const w of weights) {
    bytes.set(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength), offset);
    manifest.push({ name: w.name, shape: w.shape, precision: w.precision, byteOffset: offset, byteLength: w.data.byteLength, scale: w.scale, min: w.min });
    offset += alignedLength(w.data.byteLength);
  }
  return { manifest, buffer };
}

/** Keeps every entry 4-byte aligned so float32 views need no copy. */
function alignedLength(n: number): number {
  return Math.ceil(n / 4) * 4;
}

export function unpackWeights(manifest: readonly WeightEntry[], data: Uint8Array): StoredWeight[] {
  return manifest.map((m) => {
    // A copy into its own ArrayBuffer: Buffer#slice would share (and expose) a larger pool.
    const slice = new Uint8Array(data.buffer, data.byteOffset + m.byteOffset, m.byteLength).slice();
    const view =
      m.precision === 'float32'
        ? new Float32Array(slice.buffer)
        : m.precision === 'float16'
          ? new Uint16Array(slice.buffer)
          : m.min
            ? new Uint8Array(slice.buffer) // stored before int8 became symmetric: unsigned affine codes
            : new Int8Array(slice.buffer);
    return { name: m.name, shape: m.shape, precision: m.precision, data: view, scale: m.scale, min: m.min };
  });
}
