import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { WasmBackend } from './heap';
import { runWasmKernel } from './original';
import { isWinogradConv, winogradConv2d } from './winograd';
import type { ConvEpilogue } from './winograd';

export interface Conv2DAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * A forward convolution on wasm: 3x3 stride-1 'same' ones by Winograd
 * F(2x2, 3x3) (winograd.ts), every other one by the backend's XNNPACK
 * kernel. The Conv2D kernel and the input gradient (a convolution of dy with
 * the rotated filter) both come here.
 */
export function convolve(wasm: WasmBackend, x: TensorInfo, filter: TensorInfo, attrs: Conv2DAttrs): TensorInfo {
  return winogradOrNull(wasm, x, filter, attrs) ?? runWasmKernel('Conv2D', wasm, { x, filter }, attrs as unknown as tf.NamedAttrMap);
}

/** The Winograd convolution (with its epilogue) when it applies; null for XNNPACK. */
function winogradOrNull(wasm: WasmBackend, x: TensorInfo, filter: TensorInfo, attrs: Conv2DAttrs, epilogue?: ConvEpilogue): TensorInfo | null {
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

interface FusedConv2DAttrs extends Conv2DAttrs {
  activation?: string;
}

/**
 * relu(conv2d(x, filter) + bias), the kernel tfjs's fused convolution and
 * kdsearch's training forward (src/model/fused-conv.ts) run: Winograd with
 * the bias and ReLU applied as each output tile is written, so the
 * activation is written once instead of three times; every other case (other
 * activations, PReLU weights, a bias that is not one value per channel,
 * shapes Winograd does not take) goes to the backend's XNNPACK kernel, which
 * fuses them too.
 */
const fusedConv2d: KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, filter, bias, preluActivationWeights } = inputs as Record<string, TensorInfo | undefined>;
  const wasm = backend as unknown as WasmBackend;
  const { activation = 'linear' } = attrs as unknown as FusedConv2DAttrs;
  const outChannels = filter!.shape[3];
  const fusable =
    (activation === 'linear' || activation === 'relu') && !preluActivationWeights &&
    (!bias || (bias.dtype === 'float32' && tf.util.sizeFromShape(bias.shape) === outChannels));
  const fused = fusable ? winogradOrNull(wasm, x!, filter!, attrs as unknown as Conv2DAttrs, { bias, relu: activation === 'relu' }) : null;
  return fused ?? runWasmKernel('FusedConv2D', wasm, inputs as Record<string, TensorInfo>, attrs as tf.NamedAttrMap);
};

export const fusedConv2dConfig: KernelConfig = {
  kernelName: 'FusedConv2D',
  backendName: 'wasm',
  kernelFunc: fusedConv2d,
};
