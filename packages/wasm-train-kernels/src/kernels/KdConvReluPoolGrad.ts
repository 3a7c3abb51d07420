import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { convReluPoolGeometry } from '../shared/conv-relu-pool';
import type { ConvReluPoolAttrs } from '../shared/conv-relu-pool';
import { address } from '../shared/heap';
import type { WasmBackend } from '../shared/heap';
import { padSpatial } from '../shared/pad';
import { simdKernels } from '../shared/simd';

/** The gradient of KdConvReluPool at filter and bias: [dfilter, dbias]. */
export const CONV_RELU_POOL_GRAD = 'KdConvReluPoolGrad';

const convReluPoolGrad: KernelFunc = ({ inputs, attrs, backend }) => {
  const { dy, x, filter, bias } = inputs as { dy: TensorInfo; x: TensorInfo; filter: TensorInfo; bias: TensorInfo };
  const wasm = backend as unknown as WasmBackend;
  const g = convReluPoolGeometry(CONV_RELU_POOL_GRAD, x, filter, bias, (attrs as unknown as ConvReluPoolAttrs).pad);
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

export const convReluPoolGradConfig: KernelConfig = { kernelName: CONV_RELU_POOL_GRAD, backendName: 'wasm', kernelFunc: convReluPoolGrad };
