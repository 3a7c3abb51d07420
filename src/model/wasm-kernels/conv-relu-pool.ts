import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { KdError } from '../../core/errors';
import { address } from './heap';
import type { WasmBackend } from './heap';
import { padSpatial } from './pad';
import { simdKernels } from './simd';

/** max_pool_2x2(relu(conv2d(x, filter, stride 1) + bias)) computed directly (wasm only). */
export const CONV_RELU_POOL = 'KdConvReluPool';
/** Its gradient at filter and bias: [dfilter, dbias]. */
export const CONV_RELU_POOL_GRAD = 'KdConvReluPoolGrad';

export interface ConvReluPoolAttrs {
  pad: 'same' | 'valid';
}

/**
 * The shapes these kernels take: x [B, H, W, Cin], filter [K, K, Cin, C]
 * with C a multiple of 4, bias [C]; stride 1, 'same' or 'valid'; then
 * 2x2 windows at stride 2 over the convolution's output.
 */
function geometry(x: { shape: number[] }, filter: { shape: number[] }, bias: { shape: number[] }, pad: ConvReluPoolAttrs['pad']) {
  const [B, H, W, Cin] = x.shape;
  const [K, K2, filterCin, C] = filter.shape;
  if (x.shape.length !== 4 || filter.shape.length !== 4 || K !== K2 || filterCin !== Cin || C % 4 !== 0 || bias.shape.length !== 1 || bias.shape[0] !== C) {
    throw new KdError(
      'INTERNAL',
      `${CONV_RELU_POOL}: expected x [B, H, W, Cin], a square filter [K, K, Cin, C] with C a multiple of 4 and bias [C], got [${x.shape}], [${filter.shape}] and [${bias.shape}]`,
    );
  }
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filter.shape as [number, number, number, number], 1, 1, pad);
  const { top, bottom, left, right } = info.padInfo;
  return { B, Cin, C, K, pads: { top, bottom, left, right }, Hp: H + top + bottom, Wp: W + left + right, OH: Math.floor(info.outHeight / 2), OW: Math.floor(info.outWidth / 2) };
}

const convReluPool: KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, filter, bias } = inputs as { x: TensorInfo; filter: TensorInfo; bias: TensorInfo };
  const wasm = backend as unknown as WasmBackend;
  const g = geometry(x, filter, bias, (attrs as unknown as ConvReluPoolAttrs).pad);
  const out = wasm.makeOutput([g.B, g.OH, g.OW, g.C], 'float32');
  const xp = padSpatial(wasm, x, g.pads);
  simdKernels(wasm).conv_relu_pool_2x2(address(wasm, xp), address(wasm, filter), address(wasm, bias), address(wasm, out), g.B, g.Hp, g.Wp, g.Cin, g.C, g.K, g.OH, g.OW);
  if (xp !== x) wasm.disposeData(xp.dataId);
  return out;
};

const convReluPoolGrad: KernelFunc = ({ inputs, attrs, backend }) => {
  const { dy, x, filter, bias } = inputs as { dy: TensorInfo; x: TensorInfo; filter: TensorInfo; bias: TensorInfo };
  const wasm = backend as unknown as WasmBackend;
  const g = geometry(x, filter, bias, (attrs as unknown as ConvReluPoolAttrs).pad);
  const dw = wasm.makeOutput(filter.shape, 'float32');
  const db = wasm.makeOutput([g.C], 'float32');
  const xp = padSpatial(wasm, x, g.pads);
  simdKernels(wasm).conv_relu_pool_2x2_grad(
    address(wasm, dy), address(wasm, xp), address(wasm, filter), address(wasm, bias), address(wasm, dw), address(wasm, db),
    g.B, g.Hp, g.Wp, g.Cin, g.C, g.K, g.OH, g.OW,
  );
  if (xp !== x) wasm.disposeData(xp.dataId);
  return [dw, db];
};

export const convReluPoolConfig: KernelConfig = { kernelName: CONV_RELU_POOL, backendName: 'wasm', kernelFunc: convReluPool };
export const convReluPoolGradConfig: KernelConfig = { kernelName: CONV_RELU_POOL_GRAD, backendName: 'wasm', kernelFunc: convReluPoolGrad };
