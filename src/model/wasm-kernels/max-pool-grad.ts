import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { heapViews } from './heap';
import type { WasmBackend } from './heap';

/**
 * dx gets each window's output gradient at the window's first maximum (row
 * by row, the cpu backend's tie rule), summed where windows overlap. The
 * backend's own C++ kernel rescans windows per input pixel and took 11 ms of
 * a 71 ms small-CNN step (bench/profile); this pass reads x once per window.
 */
/**
 * Windows that tile the input without overlap or padding (the usual 2x2,
 * stride 2, 'valid' pool): each input pixel belongs to at most one window,
 * so the gradient is written, not accumulated, and no per-window buffers
 * are needed.
 */
function tiledMaxPoolGrad(x: Float32Array, g: Float32Array, dx: Float32Array, info: tf.backend_util.Conv2DInfo): void {
  const { batchSize, inHeight, inWidth, inChannels: C, outHeight, outWidth, filterHeight, filterWidth } = info;
  const rowStride = inWidth * C;
  let gAt = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++) {
        const corner = ((b * inHeight + oy * filterHeight) * inWidth + ox * filterWidth) * C;
        for (let c = 0; c < C; c++, gAt++) {
          let best = -Infinity;
          let where = -1;
          for (let fy = 0; fy < filterHeight; fy++) {
            const row = corner + fy * rowStride + c;
            for (let fx = 0; fx < filterWidth; fx++) {
              const v = x[row + fx * C];
              if (v > best) {
                best = v;
                where = row + fx * C;
              }
            }
          }
          if (where >= 0) dx[where] = g[gAt];
        }
      }
    }
  }
}

const maxPoolGrad: KernelFunc = ({ inputs, attrs, backend }) => {
  const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as {
    filterSize: [number, number] | number;
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const { batchSize, inHeight, inWidth, inChannels: C, outHeight, outWidth, strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const { top, left } = info.padInfo;
  const { ins, out: dx, outInfo } = heapViews(backend as unknown as WasmBackend, [input, dy], input.shape);
  const [x, g] = ins;
  dx.fill(0);
  if (top === 0 && left === 0 && strideHeight === filterHeight && strideWidth === filterWidth && outHeight * filterHeight <= inHeight && outWidth * filterWidth <= inWidth) {
    tiledMaxPoolGrad(x, g, dx, info);
    return outInfo;
  }
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
              const v = x[at + c];
              if (v > best[c]) {
                best[c] = v;
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
  return outInfo;
};

export const maxPoolGradConfig: KernelConfig = {
  kernelName: 'MaxPoolGrad',
  backendName: 'wasm',
  kernelFunc: maxPoolGrad,
};
