import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { isUnit } from '../shared/unit-stride';
import { address } from '../shared/heap';
import type { WasmBackend } from '../shared/heap';
import { runWasmKernel } from '../shared/original';
import { simdKernels } from '../shared/simd';
import { isWinogradConv, winogradConv2d } from '../shared/winograd';
import type { ConvEpilogue } from '../shared/winograd';

export interface Conv2DAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * A forward convolution on wasm: 3x3 stride-1 'same' ones by Winograd
 * F(2x2, 3x3) (winograd.ts), 1x1 stride-1 ones as one matrix product,
 * every other one by the backend's XNNPACK kernel. The Conv2D kernel and
 * the input gradient (a convolution of dy with the rotated filter) both
 * come here.
 */
export function convolve(wasm: WasmBackend, x: TensorInfo, filter: TensorInfo, attrs: Conv2DAttrs): TensorInfo {
  return (
    pointwiseOrNull(wasm, x, filter, attrs) ??
    winogradOrNull(wasm, x, filter, attrs) ??
    runWasmKernel('Conv2D', wasm, { x, filter }, attrs as unknown as tf.NamedAttrMap)
  );
}

/**
 * A 1x1 stride-1 unpadded convolution is the product of x as a
 * [B*H*W, C] matrix and the filter as [C, N]: kdsearch's SIMD GEMM, which
 * packs nothing, against XNNPACK's, which re-packs the filter whenever its
 * buffer is new (every step for a trained filter, every call for the
 * rotated one of the input gradient). Separable-CNN pointwise layers at
 * batch 64: forward 0.34-0.36 against 0.45-0.54 ms alone; in a training
 * step the input gradient fell from 1.2 to 0.4 ms (bench:profile --by shape).
 * Whether it applies: x [B, H, W, C] with B*H*W and N multiples of 4.
 */
export function isPointwiseGemmConv(xShape: readonly number[], filterShape: readonly number[], attrs: Conv2DAttrs): boolean {
  const [fh, fw, C, N] = filterShape;
  const [B, H, W] = xShape;
  const unpadded = attrs.pad === 'valid' || attrs.pad === 'same' || attrs.pad === 0;
  const M = B * H * W;
  return (
    fh === 1 && fw === 1 && isUnit(attrs.strides) && isUnit(attrs.dilations) && unpadded && (attrs.dataFormat ?? 'NHWC') === 'NHWC' &&
    M > 0 && M % 4 === 0 && N % 4 === 0 && C > 0
  );
}

function pointwiseOrNull(wasm: WasmBackend, x: TensorInfo, filter: TensorInfo, attrs: Conv2DAttrs): TensorInfo | null {
  if (x.dtype !== 'float32' || filter.dtype !== 'float32' || !isPointwiseGemmConv(x.shape, filter.shape, attrs)) return null;
  const [B, H, W, C] = x.shape;
  const N = filter.shape[3];
  const out = wasm.makeOutput([B, H, W, N], 'float32');
  simdKernels(wasm).gemm(address(wasm, x), address(wasm, filter), address(wasm, out), B * H * W, C, N);
  return out;
}

/** The Winograd convolution (with its epilogue) when it applies; null for XNNPACK. */
export function winogradOrNull(wasm: WasmBackend, x: TensorInfo, filter: TensorInfo, attrs: Conv2DAttrs, epilogue?: ConvEpilogue): TensorInfo | null {
  const { strides, pad, dataFormat, dilations, dimRoundingMode } = attrs;
  if ((dataFormat ?? 'NHWC') !== 'NHWC' || x.dtype !== 'float32' || filter.dtype !== 'float32') return null;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
    strides, dilations ?? 1, pad, dimRoundingMode,
  );
  return isWinogradConv(info) ? winogradConv2d(wasm, x, filter, info, epilogue) : null;
}

const conv2d: KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, filter } = inputs as { x: TensorInfo; filter: TensorInfo };
  return convolve(backend as unknown as WasmBackend, x, filter, attrs as unknown as Conv2DAttrs);
};

export const conv2dConfig: KernelConfig = {
  kernelName: 'Conv2D',
  backendName: 'wasm',
  kernelFunc: conv2d,
};
