import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { address } from '../shared/heap';
import type { WasmBackend } from '../shared/heap';
import { biasPoolGeometry } from '../shared/pool';
import { simdKernels } from '../shared/simd';

/** The gradient of KdBiasReluMaxPool at z and bias: [dz, db]. */
export const BIAS_RELU_MAX_POOL_GRAD = 'KdBiasReluMaxPoolGrad';

const biasReluMaxPoolGrad: KernelFunc = ({ inputs, backend }) => {
  const { dy, z, bias } = inputs as { dy: TensorInfo; z: TensorInfo; bias: TensorInfo };
  const wasm = backend as unknown as WasmBackend;
  const { B, H, W, C, OH, OW } = biasPoolGeometry(BIAS_RELU_MAX_POOL_GRAD, z, bias);
  const dz = wasm.makeOutput(z.shape, 'float32');
  const db = wasm.makeOutput([C], 'float32');
  simdKernels(wasm).bias_relu_max_pool_grad_2x2(address(wasm, dy), address(wasm, z), address(wasm, bias), address(wasm, dz), address(wasm, db), B, H, W, C, OH, OW);
  if (H > 2 * OH || W > 2 * OW) {
    // an odd row or column no window covers: no gradient reaches it
    const out = wasm.typedArrayFromHeap(dz) as Float32Array;
    const row = W * C;
    for (let b = 0; b < B; b++) {
      const image = b * H * row;
      for (let y = 0; y < 2 * OH; y++) out.fill(0, image + y * row + 2 * OW * C, image + (y + 1) * row);
      out.fill(0, image + 2 * OH * row, image + H * row);
    }
  }
  return [dz, db];
};

export const biasReluMaxPoolGradConfig: KernelConfig = { kernelName: BIAS_RELU_MAX_POOL_GRAD, backendName: 'wasm', kernelFunc: biasReluMaxPoolGrad };
