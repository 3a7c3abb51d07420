import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { gradConvInfo } from '../shared/compose';
import type { ConvGradAttrs } from '../shared/compose';
import { address } from '../shared/heap';
import type { WasmBackend } from '../shared/heap';
import { reshapeInfo, runWasmKernel } from '../shared/original';
import { padSpatial } from '../shared/pad';
import { simdKernels } from '../shared/simd';
import { isWinogradConv, winogradFilterGrad } from '../shared/winograd';

/**
 * cols[(i*fw + j)*C + c, p] = x at output position p shifted by tap (i, j),
 * channel c (0 outside the input): plain JS over the heap, for the rare
 * shapes the SIMD kernel does not take.
 */
function im2colTransposed(src: Float32Array, dst: Float32Array, info: tf.backend_util.Conv2DInfo): void {
  const { batchSize, inHeight, inWidth, inChannels: C, outHeight, outWidth, strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const { top, left } = info.padInfo;
  const P = batchSize * outHeight * outWidth;
  for (let i = 0; i < filterHeight; i++) {
    for (let j = 0; j < filterWidth; j++) {
      const rowBase = (i * filterWidth + j) * C * P;
      let p = 0;
      for (let b = 0; b < batchSize; b++) {
        for (let oy = 0; oy < outHeight; oy++) {
          const y = oy * strideHeight + i - top;
          const rowInside = y >= 0 && y < inHeight;
          const xRow = (b * inHeight + y) * inWidth;
          for (let ox = 0; ox < outWidth; ox++, p++) {
            const xx = ox * strideWidth + j - left;
            const inside = rowInside && xx >= 0 && xx < inWidth;
            for (let c = 0, d = rowBase + p; c < C; c++, d += P) dst[d] = inside ? src[(xRow + xx) * C + c] : 0;
          }
        }
      }
    }
  }
}

/** Any shape: transposed im2col in JS, then the backend's (XNNPACK) matrix product. */
function viaGemm(wasm: WasmBackend, x: TensorInfo, dy: TensorInfo, info: tf.backend_util.Conv2DInfo, filterShape: number[]): TensorInfo {
  const positions = info.batchSize * info.outHeight * info.outWidth;
  const cols = wasm.makeOutput([info.filterHeight * info.filterWidth * info.inChannels, positions], 'float32');
  im2colTransposed(wasm.typedArrayFromHeap(x) as Float32Array, wasm.typedArrayFromHeap(cols) as Float32Array, info);
  const dy2 = reshapeInfo(wasm, dy, [positions, info.outChannels]);
  const product = runWasmKernel('BatchMatMul', wasm, { a: cols, b: dy2 }, { transposeA: false, transposeB: false });
  const dw = reshapeInfo(wasm, product, filterShape);
  for (const t of [cols, dy2, product]) wasm.disposeData(t.dataId);
  return dw;
}

/** Output channels a multiple of 4: kdsearch's SIMD kernel, which packs nothing. */
function viaSimd(wasm: WasmBackend, x: TensorInfo, dy: TensorInfo, info: tf.backend_util.Conv2DInfo, filterShape: number[]): TensorInfo {
  const simd = simdKernels(wasm);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: N, filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const { top, bottom, left, right } = info.padInfo;
  const dw = wasm.makeOutput(filterShape, 'float32');
  if (C % 4 === 0) {
    const xp = padSpatial(wasm, x, { top, bottom, left, right });
    simd.conv_filter_grad(address(wasm, xp), address(wasm, dy), address(wasm, dw), B, H + top + bottom, W + left + right, C, OH, OW, N, fh, fw, sh, sw);
    if (xp !== x) wasm.disposeData(xp.dataId);
    return dw;
  }
  if (C === 1) {
    // A grey first layer: four neighbouring taps of a filter row stand in for
    // four channels, over a padded copy with the scratch taps' extra columns.
    const fwp = Math.ceil(fw / 4) * 4;
    const extra = fwp - fw;
    const xp = padSpatial(wasm, x, { top, bottom, left, right: right + extra });
    const scratch = wasm.makeOutput([fh, fwp, 1, N], 'float32');
    simd.conv_filter_grad_c1(address(wasm, xp), address(wasm, dy), address(wasm, scratch), B, H + top + bottom, W + left + right + extra, OH, OW, N, fh, fwp, sh, sw);
    const from = wasm.typedArrayFromHeap(scratch) as Float32Array;
    const to = wasm.typedArrayFromHeap(dw) as Float32Array;
    for (let i = 0; i < fh; i++) to.set(from.subarray(i * fwp * N, (i * fwp + fw) * N), i * fw * N);
    if (xp !== x) wasm.disposeData(xp.dataId);
    wasm.disposeData(scratch.dataId);
    return dw;
  }
  // An RGB (or 2-channel) first layer: im2col rows padded to a multiple of 4 columns,
  // then the same kernel as a 1x1 convolution over them.
  const taps = fh * fw * C;
  const Kp = Math.ceil(taps / 4) * 4;
  const rows = wasm.makeOutput([B * OH * OW, Kp], 'float32');
  const padded = wasm.makeOutput([Kp, N], 'float32');
  simd.im2col_rows(address(wasm, x), address(wasm, rows), B, H, W, C, OH, OW, fh, fw, sh, sw, top, left, Kp);
  simd.conv_filter_grad(address(wasm, rows), address(wasm, dy), address(wasm, padded), B, OH, OW, Kp, OH, OW, N, 1, 1, 1, 1);
  (wasm.typedArrayFromHeap(dw) as Float32Array).set((wasm.typedArrayFromHeap(padded) as Float32Array).subarray(0, taps * N));
  wasm.disposeData(rows.dataId);
  wasm.disposeData(padded.dataId);
  return dw;
}

/**
 * dW[i,j,c,o] = sum over b,y,x of x[b, y*s+i-pt, x*s+j-pl, c] * dy[b,y,x,o]:
 * a matrix product reduced over output positions. XNNPACK's GEMM would pack
 * its "weights" operand, a fresh activation gradient every step (2.6 ms of a
 * 3.3 ms first-layer gradient); kdsearch's SIMD kernel packs nothing. A
 * convolution with a 28x28 "filter" made of dy runs at a tenth of XNNPACK's
 * usual speed, and an im2col + GEMM pays the same packing (bench:profile).
 */
const conv2dBackpropFilter: KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const a = attrs as unknown as ConvGradAttrs & { filterShape: [number, number, number, number] };
  const wasm = backend as unknown as WasmBackend;
  const info = gradConvInfo('Conv2DBackpropFilter', a, x.shape as [number, number, number, number], a.filterShape, false);
  if (isWinogradConv(info)) return winogradFilterGrad(wasm, x, dy, info);
  return directFilterGrad(wasm, x, dy, info);
};

/** The filter gradient without Winograd: the SIMD product over output positions, or im2col + GEMM. */
export function directFilterGrad(wasm: WasmBackend, x: TensorInfo, dy: TensorInfo, info: tf.backend_util.Conv2DInfo): TensorInfo {
  const filterShape = [info.filterHeight, info.filterWidth, info.inChannels, info.outChannels];
  const empty = info.batchSize * info.outHeight * info.outWidth === 0;
  return info.outChannels % 4 === 0 && !empty ? viaSimd(wasm, x, dy, info, filterShape) : viaGemm(wasm, x, dy, info, filterShape);
}

export const conv2dBackpropFilterConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilter,
};
