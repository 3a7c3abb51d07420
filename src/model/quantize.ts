import type { Precision, Quantization } from '../core/precision';
import type { WeightEntry } from '../core/weights';
import { fromFloat16Bits, toFloat16Bits } from './float16';

/**
 * One weight tensor as stored: the manifest's description plus its raw
 * values at its precision (float32: Float32Array; float16: Uint16Array of
 * half bits; int8: Uint8Array codes, value = code * scale[g] + min[g], g = index % groups).
 */
export type StoredWeight = Pick<WeightEntry, 'name' | 'shape' | 'precision' | 'scale' | 'min'> & {
  data: Float32Array | Uint16Array | Uint8Array;
};

/**
 * Output-channel groups of a weight tensor: the last axis, or for a
 * depthwise kernel [kh, kw, C, M] its C*M output channels. Flattened index i
 * belongs to group i % groups in both layouts.
 */
export function channelGroups(name: string, shape: readonly number[]): number {
  if (shape.length === 0) return 1;
  if (shape.length === 4 && /depthwise/.test(name)) return shape[2] * shape[3];
  return shape[shape.length - 1];
}

function quantizeInt8(values: Float32Array, groups: number): { data: Uint8Array; scale: number[]; min: number[] } {
  const min = new Array<number>(groups).fill(Infinity);
  const max = new Array<number>(groups).fill(-Infinity);
  for (let i = 0; i < values.length; i++) {
    const g = i % groups;
    if (values[i] < min[g]) min[g] = values[i];
    if (values[i] > max[g]) max[g] = values[i];
  }
  const scale = min.map((lo, g) => {
    const s = (max[g] - lo) / 255;
    return s > 0 ? s : 1;
  });
  const data = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const g = i % groups;
    data[i] = Math.min(255, Math.max(0, Math.round((values[i] - min[g]) / scale[g])));
  }
  return { data, scale, min };
}

/**
 * Post-training quantization of one weight tensor: affine 8-bit (per tensor
 * or per output channel) or IEEE half precision.
 */
export function quantizeWeight(
  name: string,
  shape: number[],
  values: Float32Array,
  precision: Precision,
  granularity: Quantization,
): StoredWeight {
  if (precision === 'float32') return { name, shape, precision, data: Float32Array.from(values) };
  if (precision === 'float16') {
    const data = new Uint16Array(values.length);
    for (let i = 0; i < values.length; i++) data[i] = toFloat16Bits(values[i]);
    return { name, shape, precision, data };
  }
  const groups = granularity === 'per-channel' ? channelGroups(name, shape) : 1;
  return { name, shape, precision, ...quantizeInt8(values, groups) };
}

/** The float32 values a stored weight stands for (what inference computes with). */
export function dequantizeWeight(w: StoredWeight): Float32Array {
  const out = new Float32Array(w.data.length);
  if (w.precision === 'float32') out.set(w.data as Float32Array);
  else if (w.precision === 'float16') for (let i = 0; i < out.length; i++) out[i] = fromFloat16Bits(w.data[i]);
  else {
    const groups = w.scale!.length;
    for (let i = 0; i < out.length; i++) {
      const g = i % groups;
      out[i] = w.data[i] * w.scale![g] + w.min![g];
    }
  }
  return out;
}
