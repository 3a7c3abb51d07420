import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { WasmBackend } from './heap';
import { runWasmKernel } from './original';

function swapLastTwo(backend: WasmBackend, t: TensorInfo): TensorInfo {
  const rank = t.shape.length;
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return runWasmKernel('Transpose', backend, { x: t }, { perm });
}

/**
 * The backend multiplies transposed operands with a scalar loop (51 ms for a
 * [144 x 12544] x [12544 x 32] product that takes 4 ms untransposed), and
 * every dense layer's backward pass asks for exactly those. Transposing the
 * operand first costs one pass over it.
 */
const batchMatMul: KernelFunc = ({ inputs, attrs, backend }) => {
  const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
  const wasm = backend as unknown as WasmBackend;
  const aa = transposeA ? swapLastTwo(wasm, a) : a;
  const bb = transposeB ? swapLastTwo(wasm, b) : b;
  const out = runWasmKernel('BatchMatMul', wasm, { a: aa, b: bb }, { transposeA: false, transposeB: false });
  if (aa !== a) wasm.disposeData(aa.dataId);
  if (bb !== b) wasm.disposeData(bb.dataId);
  return out;
};

export const batchMatMulConfig: KernelConfig = {
  kernelName: 'BatchMatMul',
  backendName: 'wasm',
  kernelFunc: batchMatMul,
};
