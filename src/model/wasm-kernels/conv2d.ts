import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { WasmBackend } from './heap';
import { runWasmKernel } from './original';
import { isWinogradConv, winogradConv2d } from './winograd';

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
  const { strides, pad, dataFormat, dilations, dimRoundingMode } = attrs;
  if ((dataFormat ?? 'NHWC') === 'NHWC' && x.dtype === 'float32' && filter.dtype === 'float32') {
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
      strides, dilations ?? 1, pad, dimRoundingMode,
    );
    if (isWinogradConv(info)) return winogradConv2d(wasm, x, filter, info);
  }
  return runWasmKernel('Conv2D', wasm, { x, filter }, attrs as unknown as tf.NamedAttrMap);
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
