import * as tf from '@tensorflow/tfjs-core';
import { KernelError } from '../errors';

export interface PoolAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

export function poolInfo(shape: number[], attrs: PoolAttrs): tf.backend_util.Conv2DInfo {
  const { filterSize, strides, pad, dimRoundingMode } = attrs;
  return tf.backend_util.computePool2DInfo(shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
}

/**
 * The pools kdsearch's SIMD kernels take: 2x2 windows at stride 2 that tile
 * the input without padding (the students' pools), channels a multiple of 4.
 */
export function isSimdPool(info: tf.backend_util.Conv2DInfo): boolean {
  return (
    info.filterHeight === 2 && info.filterWidth === 2 && info.strideHeight === 2 && info.strideWidth === 2 &&
    info.padInfo.top === 0 && info.padInfo.left === 0 &&
    info.outHeight * 2 <= info.inHeight && info.outWidth * 2 <= info.inWidth &&
    info.inChannels % 4 === 0 && info.batchSize > 0
  );
}

/** The shapes these kernels take: z [B, H, W, C], C a multiple of 4, bias [C], 2x2 windows at stride 2, unpadded. */
export function biasPoolGeometry(kernel: string, z: { shape: number[] }, bias: { shape: number[] }) {
  const [B, H, W, C] = z.shape;
  if (z.shape.length !== 4 || C % 4 !== 0 || bias.shape.length !== 1 || bias.shape[0] !== C) {
    throw new KernelError('INTERNAL', `${kernel}: expected z [B, H, W, C] with C a multiple of 4 and bias [C], got [${z.shape}] and [${bias.shape}]`);
  }
  return { B, H, W, C, OH: Math.floor(H / 2), OW: Math.floor(W / 2) };
}
