import type * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { isEvenlyPaddedStride1 } from './compose';
import { address } from './heap';
import type { WasmBackend } from './heap';
import { simdKernels } from './simd';

/**
 * Winograd F(2x2, 3x3) for the 3x3, stride-1, 'same' convolutions that
 * conv students are made of: 16 multiplies per 2x2 outputs and channel pair
 * where a direct convolution needs 36. Forward, input gradient (a forward
 * convolution of dy with the rotated filter) and filter gradient all use it;
 * the tiles are transformed in wat/winograd.wat, the small filter transforms here.
 *
 * G = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]] maps a 3-tap
 * row of the filter to the 4 points of the transformed domain.
 */

/** Bytes of transformed tiles (V and M) a chunk may hold: about a quarter of a 1 MB L2. */
const CHUNK_BYTES = 256 * 1024;

/** Whether a convolution is one the Winograd kernels take (NHWC float32 assumed by the caller). */
export function isWinogradConv(info: tf.backend_util.Conv2DInfo): boolean {
  return (
    info.filterHeight === 3 && info.filterWidth === 3 &&
    info.dilationHeight === 1 && info.dilationWidth === 1 &&
    isEvenlyPaddedStride1(info) &&
    info.inChannels % 4 === 0 && info.outChannels % 4 === 0 &&
    info.batchSize * info.outHeight * info.outWidth > 0
  );
}

/** Tiles per chunk: a multiple of 4 (the product kernel's row block) whose V and M fit CHUNK_BYTES. */
export function chunkTiles(C: number, N: number): number {
  return Math.max(4, Math.floor(CHUNK_BYTES / (4 * 16 * (C + N)) / 4) * 4);
}

/** U[xi][c][n] = (G g G^T)[xi] for a filter g [3, 3, C, N] (HWIO). */
function transformFilter(g: Float32Array, u: Float32Array, C: number, N: number): void {
  const P = C * N;
  const h = new Float32Array(12);
  for (let e = 0; e < P; e++) {
    // rows of g times G^T: h[k][jj]
    for (let k = 0; k < 3; k++) {
      const a = g[(k * 3) * P + e], b = g[(k * 3 + 1) * P + e], c = g[(k * 3 + 2) * P + e];
      h[k * 4] = a;
      h[k * 4 + 1] = 0.5 * (a + b + c);
      h[k * 4 + 2] = 0.5 * (a - b + c);
      h[k * 4 + 3] = c;
    }
    // G over the rows
    for (let jj = 0; jj < 4; jj++) {
      const a = h[jj], b = h[4 + jj], c = h[8 + jj];
      u[jj * P + e] = a;
      u[(4 + jj) * P + e] = 0.5 * (a + b + c);
      u[(8 + jj) * P + e] = 0.5 * (a - b + c);
      u[(12 + jj) * P + e] = c;
    }
  }
}

/** dg [3, 3, C, N] = G^T du G for du [16][C][N]: the filter gradient back from the transformed domain. */
function untransformFilterGrad(du: Float32Array, dg: Float32Array, C: number, N: number): void {
  const P = C * N;
  const h = new Float32Array(12);
  for (let e = 0; e < P; e++) {
    // each transformed row times G: h[ii][l]
    for (let ii = 0; ii < 4; ii++) {
      const a = du[(ii * 4) * P + e], b = du[(ii * 4 + 1) * P + e], c = du[(ii * 4 + 2) * P + e], d = du[(ii * 4 + 3) * P + e];
      h[ii * 3] = a + 0.5 * (b + c);
      h[ii * 3 + 1] = 0.5 * (b - c);
      h[ii * 3 + 2] = 0.5 * (b + c) + d;
    }
    // G^T over the rows
    for (let l = 0; l < 3; l++) {
      const a = h[l], b = h[3 + l], c = h[6 + l], d = h[9 + l];
      dg[l * P + e] = a + 0.5 * (b + c);
      dg[(3 + l) * P + e] = 0.5 * (b - c);
      dg[(6 + l) * P + e] = 0.5 * (b + c) + d;
    }
  }
}

function scratchFor(wasm: WasmBackend, C: number, N: number): { scratch: TensorInfo; chunk: number } {
  const chunk = chunkTiles(C, N);
  return { scratch: wasm.makeOutput([16 * chunk * (C + N) + 16 * C], 'float32'), chunk };
}

/** What a fused convolution applies to each output as it is written: + bias [N], then ReLU. */
export interface ConvEpilogue {
  bias?: TensorInfo;
  relu?: boolean;
}

/** y = conv2d(x, filter, stride 1, 'same') (+ bias, ReLU) for a convolution isWinogradConv accepts. */
export function winogradConv2d(wasm: WasmBackend, x: TensorInfo, filter: TensorInfo, info: tf.backend_util.Conv2DInfo, epilogue: ConvEpilogue = {}): TensorInfo {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outChannels: N } = info;
  const y = wasm.makeOutput([B, H, W, N], 'float32');
  const u = wasm.makeOutput([16, C, N], 'float32');
  const { scratch, chunk } = scratchFor(wasm, C, N);
  transformFilter(wasm.typedArrayFromHeap(filter) as Float32Array, wasm.typedArrayFromHeap(u) as Float32Array, C, N);
  const bias = epilogue.bias ? address(wasm, epilogue.bias) : 0;
  simdKernels(wasm).winograd_conv(address(wasm, x), address(wasm, u), address(wasm, y), address(wasm, scratch), B, H, W, C, N, chunk, bias, epilogue.relu ? 1 : 0);
  wasm.disposeData(u.dataId);
  wasm.disposeData(scratch.dataId);
  return y;
}

/** dW [3, 3, C, N] of a convolution isWinogradConv accepts. */
export function winogradFilterGrad(wasm: WasmBackend, x: TensorInfo, dy: TensorInfo, info: tf.backend_util.Conv2DInfo): TensorInfo {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outChannels: N } = info;
  const dw = wasm.makeOutput([3, 3, C, N], 'float32');
  const du = wasm.makeOutput([16, C, N], 'float32');
  const { scratch, chunk } = scratchFor(wasm, C, N);
  simdKernels(wasm).winograd_filter_grad(address(wasm, x), address(wasm, dy), address(wasm, du), address(wasm, scratch), B, H, W, C, N, chunk);
  untransformFilterGrad(wasm.typedArrayFromHeap(du) as Float32Array, wasm.typedArrayFromHeap(dw) as Float32Array, C, N);
  wasm.disposeData(du.dataId);
  wasm.disposeData(scratch.dataId);
  return dw;
}
