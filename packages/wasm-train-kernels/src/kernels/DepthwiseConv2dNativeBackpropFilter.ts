import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { gradConvInfo } from '../shared/compose';
import type { ConvGradAttrs } from '../shared/compose';
import { address } from '../shared/heap';
import type { WasmBackend } from '../shared/heap';
import { padSpatial } from '../shared/pad';
import { simdKernels } from '../shared/simd';

/**
 * dW[i,j,c,m] = sum over b,y,x of x[b, y*s+i-pt, x*s+j-pl, c] * dy[b,y,x,c*M+m].
 * A depthwise filter has few taps and little arithmetic (1.8 M products for a
 * 16-channel 14x14 layer at batch 64): one pass over the padded input, 4
 * channels per SIMD lane group (multiplier 1, channels a multiple of 4, as
 * kdsearch's separable convolutions are), else one JS pass. The stock
 * gradient is 9 strided slices + products + sums (14.7 ms of a 76 ms step,
 * bench:profile).
 */
const depthwiseBackpropFilter: KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const a = attrs as unknown as ConvGradAttrs & { filterShape: [number, number, number, number] };
  const filterShape = a.filterShape;
  const wasm = backend as unknown as WasmBackend;
  const info = gradConvInfo('DepthwiseConv2dNativeBackpropFilter', a, x.shape as [number, number, number, number], filterShape, true);
  const { batchSize, inHeight, inWidth, inChannels: C, outHeight, outWidth, strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const M = filterShape[3];
  const CM = C * M;
  const { top, left } = info.padInfo;
  const outInfo = wasm.makeOutput(filterShape, 'float32');
  if (M === 1 && C % 4 === 0 && batchSize * outHeight * outWidth > 0) {
    const { bottom, right } = info.padInfo;
    const xp = padSpatial(wasm, x, { top, bottom, left, right });
    const kernels = simdKernels(wasm);
    const [xAt, dyAt, dwAt, Hp, Wp] = [address(wasm, xp), address(wasm, dy), address(wasm, outInfo), inHeight + top + bottom, inWidth + left + right];
    if (filterHeight === 3 && filterWidth === 3) kernels.depthwise_filter_grad_3x3(xAt, dyAt, dwAt, batchSize, Hp, Wp, C, outHeight, outWidth, strideHeight, strideWidth);
    else kernels.depthwise_filter_grad(xAt, dyAt, dwAt, batchSize, Hp, Wp, C, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth);
    if (xp !== x) wasm.disposeData(xp.dataId);
    return outInfo;
  }
  const acc = new Float64Array(filterHeight * filterWidth * CM);
  const src = wasm.typedArrayFromHeap(x) as Float32Array;
  const grad = wasm.typedArrayFromHeap(dy) as Float32Array;
  for (let b = 0; b < batchSize; b++) {
    for (let oy = 0; oy < outHeight; oy++) {
      for (let i = 0; i < filterHeight; i++) {
        const y = oy * strideHeight + i - top;
        if (y < 0 || y >= inHeight) continue;
        const xRow = (b * inHeight + y) * inWidth;
        for (let j = 0; j < filterWidth; j++) {
          const w = (i * filterWidth + j) * CM;
          // the output columns whose tap (i, j) lands inside the input
          const first = Math.max(0, Math.ceil((left - j) / strideWidth));
          const last = Math.min(outWidth - 1, Math.floor((inWidth - 1 + left - j) / strideWidth));
          for (let ox = first; ox <= last; ox++) {
            const xs = (xRow + ox * strideWidth + j - left) * C;
            const g = ((b * outHeight + oy) * outWidth + ox) * CM;
            if (M === 1) {
              for (let c = 0; c < C; c++) acc[w + c] += src[xs + c] * grad[g + c];
            } else {
              for (let c = 0; c < C; c++) {
                const v = src[xs + c];
                for (let m = 0; m < M; m++) acc[w + c * M + m] += v * grad[g + c * M + m];
              }
            }
          }
        }
      }
    }
  }
  (wasm.typedArrayFromHeap(outInfo) as Float32Array).set(acc);
  return outInfo;
};

export const depthwiseBackpropFilterConfig: KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropFilter',
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropFilter,
};
