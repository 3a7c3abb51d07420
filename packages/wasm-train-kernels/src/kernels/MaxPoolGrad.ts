import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { address, heapViews } from '../shared/heap';
import type { WasmBackend } from '../shared/heap';
import { isSimdPool, poolInfo } from '../shared/pool';
import type { PoolAttrs } from '../shared/pool';
import { simdKernels } from '../shared/simd';

/**
 * Any pool: windows may overlap or hang over the padding, so gradients
 * accumulate. Plain JS over the wasm heap, one pass over the windows.
 */
function generalMaxPoolGrad(x: Float32Array, g: Float32Array, dx: Float32Array, info: tf.backend_util.Conv2DInfo): void {
  const { batchSize, inHeight, inWidth, inChannels: C, outHeight, outWidth, strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const { top, left } = info.padInfo;
  dx.fill(0);
  const best = new Float32Array(C);
  const where = new Int32Array(C);
  for (let b = 0; b < batchSize; b++) {
    const xBase = b * inHeight * inWidth * C;
    for (let oy = 0; oy < outHeight; oy++) {
      const y0 = oy * strideHeight - top;
      for (let ox = 0; ox < outWidth; ox++) {
        const x0 = ox * strideWidth - left;
        best.fill(-Infinity);
        where.fill(-1);
        for (let fy = 0; fy < filterHeight; fy++) {
          const y = y0 + fy;
          if (y < 0 || y >= inHeight) continue;
          for (let fx = 0; fx < filterWidth; fx++) {
            const xx = x0 + fx;
            if (xx < 0 || xx >= inWidth) continue;
            const at = xBase + (y * inWidth + xx) * C;
            for (let c = 0; c < C; c++) {
              if (x[at + c] > best[c]) {
                best[c] = x[at + c];
                where[c] = at + c;
              }
            }
          }
        }
        const gAt = ((b * outHeight + oy) * outWidth + ox) * C;
        for (let c = 0; c < C; c++) {
          if (where[c] >= 0) dx[where[c]] += g[gAt + c];
        }
      }
    }
  }
}

/**
 * dx gets each window's output gradient at the window's first maximum (row
 * by row: the cpu backend's tie rule, which matters where ReLU outputs or
 * constant image regions tie). The backend's own C++ kernel rescans windows
 * per input pixel (11 ms of a 71 ms small-CNN step, bench:profile); the
 * students' 2x2 stride-2 pools run as a branch-free SIMD kernel, other pools
 * as one JS pass.
 */
const maxPoolGrad: KernelFunc = ({ inputs, attrs, backend }) => {
  const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
  const wasm = backend as unknown as WasmBackend;
  const info = poolInfo(input.shape, attrs as unknown as PoolAttrs);
  if (isSimdPool(info)) {
    const dx = wasm.makeOutput(input.shape, 'float32');
    const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
    simdKernels(wasm).max_pool_grad_2x2(address(wasm, input), address(wasm, dy), address(wasm, dx), batchSize, inHeight, inWidth, inChannels, outHeight, outWidth);
    return dx;
  }
  const { ins, out, outInfo } = heapViews(wasm, [input, dy], input.shape);
  generalMaxPoolGrad(ins[0], ins[1], out, info);
  return outInfo;
};

export const maxPoolGradConfig: KernelConfig = {
  kernelName: 'MaxPoolGrad',
  backendName: 'wasm',
  kernelFunc: maxPoolGrad,
};
