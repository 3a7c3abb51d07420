import * as tf from '@tensorflow/tfjs-core';
import { KernelError } from '../errors';

export interface ConvReluPoolAttrs {
  pad: 'same' | 'valid';
}

/**
 * The shapes these kernels take: x [B, H, W, Cin], filter [K, K, Cin, C]
 * with C a multiple of 4, bias [C]; stride 1, 'same' or 'valid'; then
 * 2x2 windows at stride 2 over the convolution's output.
 */
export function convReluPoolGeometry(kernel: string, x: { shape: number[] }, filter: { shape: number[] }, bias: { shape: number[] }, pad: ConvReluPoolAttrs['pad']) {
  const [B, H, W, Cin] = x.shape;
  const [K, K2, filterCin, C] = filter.shape;
  if (x.shape.length !== 4 || filter.shape.length !== 4 || K !== K2 || filterCin !== Cin || C % 4 !== 0 || bias.shape.length !== 1 || bias.shape[0] !== C) {
    throw new KernelError(
      'INTERNAL',
      `${kernel}: expected x [B, H, W, Cin], a square filter [K, K, Cin, C] with C a multiple of 4 and bias [C], got [${x.shape}], [${filter.shape}] and [${bias.shape}]`,
    );
  }
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filter.shape as [number, number, number, number], 1, 1, pad);
  const { top, bottom, left, right } = info.padInfo;
  return { B, Cin, C, K, pads: { top, bottom, left, right }, Hp: H + top + bottom, Wp: W + left + right, OH: Math.floor(info.outHeight / 2), OW: Math.floor(info.outWidth / 2) };
}
