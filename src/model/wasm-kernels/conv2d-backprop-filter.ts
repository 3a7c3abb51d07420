import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { assertNhwc } from './compose';
import type { WasmBackend } from './heap';
import { reshapeInfo, runWasmKernel } from './original';
import { address, simdKernels } from './simd';

/**
 * dW[i,j,c,o] = sum over b,y,x of x[b, y*s+i-pt, x*s+j-pl, c] * dy[b,y,x,o].
 * The input's patches are written, transposed, into one [taps*c, b*y*x]
 * matrix in the wasm heap (im2col), and dW is its product with dy seen as
 * [b*y*x, o]: one untransposed matrix multiply, the shape the backend's
 * XNNPACK GEMM runs fastest. It replaced a convolution with a 28x28 "filter"
 * made of dy, which XNNPACK ran at a tenth of its GEMM speed (bench:profile).
 */
/**
 * cols[(i*fw + j)*C + c, p] = x at output position p shifted by tap (i, j),
 * channel c (0 outside the input), for any stride: plain JS over the heap,
 * reading each pixel's channels together and scattering them to C rows.
 * Stride-1 convolutions (every kdsearch student's) use the SIMD kernel.
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

const conv2dBackpropFilter: KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as {
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dataFormat?: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    filterShape: [number, number, number, number];
  };
  assertNhwc('Conv2DBackpropFilter', dataFormat);
  const wasm = backend as unknown as WasmBackend;
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode);
  const { batchSize, inChannels, outHeight, outWidth, filterHeight, filterWidth, outChannels } = info;
  const positions = batchSize * outHeight * outWidth;
  const cols = wasm.makeOutput([filterHeight * filterWidth * inChannels, positions], 'float32');
  if (info.strideHeight === 1 && info.strideWidth === 1 && positions > 0) {
    // channel-major input: each row of cols is then runs of contiguous floats
    const xt = inChannels === 1 ? x : runWasmKernel('Transpose', wasm, { x }, { perm: [3, 0, 1, 2] });
    const { inHeight, inWidth } = info;
    simdKernels(wasm).im2col_t(address(wasm, xt), address(wasm, cols), inChannels, batchSize, inHeight, inWidth, outHeight, outWidth, filterHeight, filterWidth, info.padInfo.top, info.padInfo.left);
    if (xt !== x) wasm.disposeData(xt.dataId);
  } else {
    im2colTransposed(wasm.typedArrayFromHeap(x) as Float32Array, wasm.typedArrayFromHeap(cols) as Float32Array, info);
  }
  const dy2 = reshapeInfo(wasm, dy, [positions, outChannels]);
  const product = runWasmKernel('BatchMatMul', wasm, { a: cols, b: dy2 }, { transposeA: false, transposeB: false });
  const dw = reshapeInfo(wasm, product, filterShape);
  for (const t of [cols, dy2, product]) wasm.disposeData(t.dataId);
  return dw;
};

export const conv2dBackpropFilterConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilter,
};
