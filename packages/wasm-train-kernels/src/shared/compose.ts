import * as tf from '@tensorflow/tfjs-core';
import { KernelError } from '../errors';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { WasmBackend } from './heap';

/**
 * Pads (positive) or crops (negative) the two spatial axes of an NHWC tensor.
 * Gradient formulas need both: a 'valid' strided convolution can leave input
 * rows that no output reads, which shows up as a negative pad.
 */
function padOrCrop(x: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  let out = x;
  const cropTop = Math.max(0, -top);
  const cropBottom = Math.max(0, -bottom);
  const cropLeft = Math.max(0, -left);
  const cropRight = Math.max(0, -right);
  if (cropTop || cropBottom || cropLeft || cropRight) {
    const [b, h, w, c] = out.shape;
    out = tf.slice(out, [0, cropTop, cropLeft, 0], [b, h - cropTop - cropBottom, w - cropLeft - cropRight, c]);
  }
  const pt = Math.max(0, top);
  const pb = Math.max(0, bottom);
  const pl = Math.max(0, left);
  const pr = Math.max(0, right);
  if (pt || pb || pl || pr) {
    out = tf.pad(out, [
      [0, 0],
      [pt, pb],
      [pl, pr],
      [0, 0],
    ]);
  }
  return out;
}

/**
 * Inserts (stride - 1) zeros between neighbouring rows and columns, the
 * "fractionally strided" view of an output gradient. Done with reshape + pad,
 * ops the wasm backend has.
 */
function dilateSpatial(dy: tf.Tensor4D, strideH: number, strideW: number): tf.Tensor4D {
  if (strideH === 1 && strideW === 1) return dy;
  const [b, h, w, c] = dy.shape;
  const spread = tf.pad(tf.reshape(dy, [b, h, 1, w, 1, c]), [
    [0, 0],
    [0, 0],
    [0, strideH - 1],
    [0, 0],
    [0, strideW - 1],
    [0, 0],
  ]);
  const full = tf.reshape(spread, [b, h * strideH, w * strideW, c]) as tf.Tensor4D;
  return tf.slice(full, [0, 0, 0, 0], [b, (h - 1) * strideH + 1, (w - 1) * strideW + 1, c]);
}

/**
 * The padded, dilated output gradient that a stride-1 'valid' correlation with
 * the 180-degree-rotated filter turns into the input gradient.
 */
export function fullCorrelationInput(
  dy: tf.Tensor4D,
  info: { inHeight: number; inWidth: number; filterHeight: number; filterWidth: number; strideHeight: number; strideWidth: number; padInfo: { top: number; left: number } },
): tf.Tensor4D {
  const dilated = dilateSpatial(dy, info.strideHeight, info.strideWidth);
  const [, dh, dw] = dilated.shape;
  const top = info.filterHeight - 1 - info.padInfo.top;
  const left = info.filterWidth - 1 - info.padInfo.left;
  const bottom = info.inHeight + info.filterHeight - 1 - top - dh;
  const right = info.inWidth + info.filterWidth - 1 - left - dw;
  return padOrCrop(dilated, top, bottom, left, right);
}

/**
 * A stride-1 convolution with an odd filter, padded evenly so the output has
 * the input's size ('same', or 'valid' for a 1x1 filter): its full
 * correlation pads evenly too, so the input gradient is a 'same' convolution
 * of dy with the rotated filter, with no PadV2 and no reverse.
 */
export function isEvenlyPaddedStride1(info: tf.backend_util.Conv2DInfo): boolean {
  return (
    info.strideHeight === 1 && info.strideWidth === 1 &&
    info.filterHeight % 2 === 1 && info.filterWidth % 2 === 1 &&
    info.padInfo.top * 2 === info.filterHeight - 1 && info.padInfo.left * 2 === info.filterWidth - 1 &&
    info.outHeight === info.inHeight && info.outWidth === info.inWidth
  );
}

export function assertUnitDilation(kernel: string, dilations: number | [number, number] | undefined): void {
  const d = dilations === undefined ? [1, 1] : typeof dilations === 'number' ? [dilations, dilations] : dilations;
  if (d[0] !== 1 || d[1] !== 1) {
    throw new KernelError('INTERNAL', `kdsearch's wasm ${kernel} supports dilation 1 only, got [${d.join(', ')}]`);
  }
}

export function assertNhwc(kernel: string, dataFormat: string | undefined): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC') {
    throw new KernelError('INTERNAL', `kdsearch's wasm ${kernel} supports dataFormat NHWC only, got ${dataFormat}`);
  }
}

/** The attributes tfjs hands every convolution gradient kernel. */
export interface ConvGradAttrs {
  strides: [number, number] | number;
  dilations?: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** A convolution gradient's geometry, refusing what kdsearch's kernels do not take (NCHW data, dilation). */
export function gradConvInfo(
  kernel: string,
  attrs: ConvGradAttrs,
  inputShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  depthwise: boolean,
): tf.backend_util.Conv2DInfo {
  assertNhwc(kernel, attrs.dataFormat);
  assertUnitDilation(kernel, attrs.dilations);
  return tf.backend_util.computeConv2DInfo(inputShape, filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, depthwise);
}

/**
 * A convolution's input gradient, computed as a forward convolution: the
 * full correlation of dy with the filter rotated by 180 degrees. When the
 * forward padding is even (stride 1) that full correlation is a 'same' one:
 * `rotate` then `forward` run on the heap, with no pad and no reverse.
 * Otherwise `viaOps` builds it from tfjs ops.
 */
export function inputGradientByForward(opts: {
  kernel: string;
  attrs: ConvGradAttrs & { inputShape: [number, number, number, number] };
  dy: tf.Tensor4D;
  filter: tf.Tensor4D;
  backend: unknown;
  depthwise: boolean;
  /** Extra condition for the heap path (the depthwise one takes multiplier 1 only). */
  heapPathFits?: boolean;
  rotate: (wasm: WasmBackend, filter: TensorInfo) => TensorInfo;
  forward: (wasm: WasmBackend, dy: TensorInfo, rotated: TensorInfo) => TensorInfo;
  viaOps: (info: tf.backend_util.Conv2DInfo) => tf.Tensor;
}): TensorInfo {
  const info = gradConvInfo(opts.kernel, opts.attrs, opts.attrs.inputShape, opts.filter.shape, opts.depthwise);
  if ((opts.heapPathFits ?? true) && isEvenlyPaddedStride1(info) && opts.filter.dtype === 'float32') {
    const wasm = opts.backend as WasmBackend;
    const rotated = opts.rotate(wasm, opts.filter);
    const dx = opts.forward(wasm, opts.dy, rotated);
    wasm.disposeData(rotated.dataId);
    return dx;
  }
  return tf.tidy(() => opts.viaOps(info)) as unknown as TensorInfo;
}
