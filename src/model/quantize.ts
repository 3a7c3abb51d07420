import type { Precision, Quantization } from '../core/precision';
import type { WeightEntry } from '../core/weights';
import { fromFloat16Bits, toFloat16Bits } from './float16';

/**
 * One weight tensor as stored: the manifest's description plus its raw
 * values at its precision (float32: Float32Array; float16: Uint16Array of
 * half bits; int8: Int8Array codes, value = code * scale[g], g = index % groups; int8 weights stored
 * before the grid became symmetric are Uint8Array codes with value = code * scale[g] + min[g]).
 */
export type StoredWeight = Pick<WeightEntry, 'name' | 'shape' | 'precision' | 'scale' | 'min'> & {
  data: Float32Array | Uint16Array | Int8Array | Uint8Array;
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

/** The largest int8 code: codes run from -127 to 127, so zero is exact and the grid is symmetric. */
export const INT8_LIMIT = 127;

/**
 * Symmetric signed int8, zero point 0, as ONNX, TFLite and TensorRT store
 * weights: value = code * scale[g], one scale per group (the tensor, or each
 * output channel), scale = max |value| / 127.
 */
function quantizeInt8(values: Float32Array, groups: number): { data: Int8Array; scale: number[] } {
  const maxAbs = new Array<number>(groups).fill(0);
  for (let i = 0; i < values.length; i++) {
    const g = i % groups;
    maxAbs[g] = Math.max(maxAbs[g], Math.abs(values[i]));
  }
  const scale = maxAbs.map((m) => (m > 0 ? m / INT8_LIMIT : 1));
  const data = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    data[i] = Math.min(INT8_LIMIT, Math.max(-INT8_LIMIT, Math.round(values[i] / scale[i % groups])));
  }
  return { data, scale };
}

/**
 * Post-training quantization of one weight tensor: symmetric int8 (per
 * tensor or per output channel) or IEEE half precision.
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
    // Weights stored before int8 became symmetric carry a minimum: unsigned codes on an affine grid.
    const min = w.min;
    for (let i = 0; i < out.length; i++) {
      const g = i % groups;
      out[i] = w.data[i] * w.scale![g] + (min ? min[g] : 0);
    }
  }
  return out;
}
