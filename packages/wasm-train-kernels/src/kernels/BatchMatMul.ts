import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { address } from '../shared/heap';
import type { WasmBackend } from '../shared/heap';
import { runWasmKernel } from '../shared/original';
import { simdKernels } from '../shared/simd';

function swapLastTwo(backend: WasmBackend, t: TensorInfo): TensorInfo {
  const rank = t.shape.length;
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return runWasmKernel('Transpose', backend, { x: t }, { perm });
}

const batchOf = (t: TensorInfo) => t.shape.slice(0, -2).reduce((x, y) => x * y, 1);

/**
 * Single products whose dimensions are multiples of 4, by kdsearch's 4x8
 * register-blocked SIMD GEMM (also Winograd's), which packs neither
 * operand. XNNPACK's GEMM packs its right operand and caches the packing by
 * buffer: a dense layer's weights are a fresh buffer after every Adam step,
 * so the forward product re-packed a 400 kB matrix every step (0.75 ms of
 * the MLP's 2 ms step against 0.38, bench:profile). a^T b, the weight
 * gradient, is a transpose of a and then the same product.
 */
function simdProduct(wasm: WasmBackend, a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean): TensorInfo | undefined {
  if (transposeB || a.dtype !== 'float32' || b.dtype !== 'float32' || batchOf(a) !== 1 || batchOf(b) !== 1) return undefined;
  const [rows, cols] = a.shape.slice(-2);
  const [M, K] = transposeA ? [cols, rows] : [rows, cols];
  const N = b.shape[b.shape.length - 1];
  if (b.shape[b.shape.length - 2] !== K || M * K * N === 0 || M % 4 !== 0 || N % 4 !== 0) return undefined;
  const out = wasm.makeOutput([...a.shape.slice(0, -2), M, N], 'float32');
  const left = transposeA ? swapLastTwo(wasm, a) : a;
  simdKernels(wasm).gemm(address(wasm, left), address(wasm, b), address(wasm, out), M, K, N);
  if (left !== a) wasm.disposeData(left.dataId);
  return out;
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
  const simd = simdProduct(wasm, a, b, transposeA, transposeB);
  if (simd) return simd;
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
