import type { WeightEntry } from '../core/weights';
import { dequantizeWeight } from './quantize';
import { unpackWeights } from './weights-pack';

interface TfjsWeightEntry {
  name: string;
  shape: number[];
  dtype: 'float32';
  quantization?: { dtype: 'uint8'; scale: number; min: number } | { dtype: 'float16' };
}

/**
 * A stored student as TF.js LayersModel files (model.json + weights.bin),
 * loadable by tf.loadLayersModel. Weights keep their stored precision where
 * the TF.js manifest can say it: float16, and per-tensor int8 as uint8 with
 * scale and min. Per-channel int8 has no manifest encoding, so those
 * tensors are written as their dequantized float32 values (same outputs).
 */
export function exportTfjs(opts: { topology: object; manifest: readonly WeightEntry[]; data: Uint8Array; weightsPath?: string }): {
  modelJson: object;
  weights: Buffer;
  notes: string[];
} {
  const stored = unpackWeights(opts.manifest, opts.data);
  const entries: TfjsWeightEntry[] = [];
  const chunks: Buffer[] = [];
  const notes = new Set<string>();
  for (const w of stored) {
    if (w.precision === 'int8' && w.scale!.length === 1) {
      // TF.js stores uint8 with a scale and a minimum: a symmetric code q is the unsigned code q + 128 with minimum -128 * scale.
      const min = w.min ? w.min[0] : -128 * w.scale![0];
      const codes = w.min ? Uint8Array.from(w.data) : Uint8Array.from(w.data, (q) => q + 128);
      entries.push({ name: w.name, shape: w.shape, dtype: 'float32', quantization: { dtype: 'uint8', scale: w.scale![0], min } });
      chunks.push(Buffer.from(codes.buffer));
    } else if (w.precision === 'float16') {
      entries.push({ name: w.name, shape: w.shape, dtype: 'float32', quantization: { dtype: 'float16' } });
      chunks.push(Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength));
    } else {
      if (w.precision === 'int8') notes.add('per-channel int8 weights are written as their dequantized float32 values: the TF.js manifest has no per-channel quantization');
      const values = dequantizeWeight(w);
      entries.push({ name: w.name, shape: w.shape, dtype: 'float32' });
      chunks.push(Buffer.from(values.buffer, values.byteOffset, values.byteLength));
    }
  }
  return {
    modelJson: {
      format: 'layers-model',
      generatedBy: 'kdsearch',
      convertedBy: 'kdsearch',
      modelTopology: opts.topology,
      weightsManifest: [{ paths: [opts.weightsPath ?? 'weights.bin'], weights: entries }],
    },
    weights: Buffer.concat(chunks),
    notes: [...notes],
  };
}
