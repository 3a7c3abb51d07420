import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { KdError } from '../../core/errors';
import { address } from './heap';
import type { WasmBackend } from './heap';
import { simdKernels } from './simd';

/** max_pool_2x2(relu(z + bias)): a convolution's epilogue and pool as one kernel (wasm only). */
export const BIAS_RELU_MAX_POOL = 'KdBiasReluMaxPool';
/** Its gradient at z and bias: [dz, db]. */
export const BIAS_RELU_MAX_POOL_GRAD = 'KdBiasReluMaxPoolGrad';

/** The shapes these kernels take: z [B, H, W, C], C a multiple of 4, bias [C], 2x2 windows at stride 2, unpadded. */
function poolGeometry(z: { shape: number[] }, bias: { shape: number[] }) {
  const [B, H, W, C] = z.shape;
  if (z.shape.length !== 4 || C % 4 !== 0 || bias.shape.length !== 1 || bias.shape[0] !== C) {
    throw new KdError('INTERNAL', `${BIAS_RELU_MAX_POOL}: expected z [B, H, W, C] with C a multiple of 4 and bias [C], got [${z.shape}] and [${bias.shape}]`);
  }
  return { B, H, W, C, OH: Math.floor(H / 2), OW: Math.floor(W / 2) };
}

const biasReluMaxPool: KernelFunc = ({ inputs, backend }) => {
  const { z, bias } = inputs as { z: TensorInfo; bias: TensorInfo };
  const wasm = backend as unknown as WasmBackend;
  const { B, H, W, C, OH, OW } = poolGeometry(z, bias);
  const out = wasm.makeOutput([B, OH, OW, C], 'float32');
  simdKernels(wasm).bias_relu_max_pool_2x2(address(wasm, z), address(wasm, bias), address(wasm, out), B, H, W, C, OH, OW);
  return out;
};

const biasReluMaxPoolGrad: KernelFunc = ({ inputs, backend }) => {
  const { dy, z, bias } = inputs as { dy: TensorInfo; z: TensorInfo; bias: TensorInfo };
  const wasm = backend as unknown as WasmBackend;
  const { B, H, W, C, OH, OW } = poolGeometry(z, bias);
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

export const biasReluMaxPoolConfig: KernelConfig = { kernelName: BIAS_RELU_MAX_POOL, backendName: 'wasm', kernelFunc: biasReluMaxPool };
export const biasReluMaxPoolGradConfig: KernelConfig = { kernelName: BIAS_RELU_MAX_POOL_GRAD, backendName: 'wasm', kernelFunc: biasReluMaxPoolGrad };
