import type { WasmBackend } from './heap';
import { SIMD_KERNELS_BASE64 } from './simd-binary';

/** The exports of kernels.wat; every pointer is a byte offset in the backend's memory. */
export interface SimdKernels {
  conv_filter_grad(xp: number, dy: number, dw: number, B: number, Hp: number, Wp: number, C: number, OH: number, OW: number, N: number, fh: number, fw: number, sh: number, sw: number): void;
  conv_filter_grad_c1(xp: number, dy: number, dwp: number, B: number, Hp: number, Wp: number, OH: number, OW: number, N: number, fh: number, fwp: number, sh: number, sw: number): void;
  im2col_rows(x: number, dst: number, B: number, H: number, W: number, C: number, OH: number, OW: number, fh: number, fw: number, sh: number, sw: number, top: number, left: number, Kp: number): void;
  max_pool_grad_2x2(x: number, g: number, dx: number, B: number, H: number, W: number, C: number, OH: number, OW: number): void;
  bias_relu_max_pool_2x2(z: number, bias: number, out: number, B: number, H: number, W: number, C: number, OH: number, OW: number): void;
  bias_relu_max_pool_grad_2x2(dy: number, z: number, bias: number, dz: number, db: number, B: number, H: number, W: number, C: number, OH: number, OW: number): void;
  conv_relu_pool_2x2(xp: number, w: number, bias: number, out: number, B: number, Hp: number, Wp: number, Cin: number, C: number, K: number, OH: number, OW: number): void;
  conv_relu_pool_2x2_grad(
    dy: number, xp: number, w: number, bias: number, dw: number, db: number, B: number, Hp: number, Wp: number, Cin: number, C: number, K: number, OH: number, OW: number,
  ): void;
  depthwise_filter_grad(xp: number, dy: number, dw: number, B: number, Hp: number, Wp: number, C: number, OH: number, OW: number, fh: number, fw: number, sh: number, sw: number): void;
  depthwise_filter_grad_3x3(xp: number, dy: number, dw: number, B: number, Hp: number, Wp: number, C: number, OH: number, OW: number, sh: number, sw: number): void;
  sum_rows(x: number, out: number, rows: number, C: number): void;
  add_rows(x: number, bias: number, out: number, rows: number, C: number): void;
  adam_update(
    w: number, g: number, m: number, v: number, wOut: number, mOut: number, vOut: number, n: number,
    negLr: number, b1: number, oneMinusB1: number, b2: number, oneMinusB2: number, eps: number, c1: number, c2: number,
  ): void;
  max_pool_2x2(x: number, out: number, B: number, H: number, W: number, C: number, OH: number, OW: number): void;
  gemm(a: number, b: number, c: number, M: number, K: number, N: number): void;
  relu_grad(dy: number, x: number, dx: number, n: number): void;
  relu_grad_bias(dy: number, x: number, dz: number, db: number, rows: number, C: number): void;
  winograd_conv(x: number, u: number, y: number, scratch: number, B: number, H: number, W: number, C: number, N: number, chunk: number, bias: number, relu: number): void;
  winograd_filter_grad(x: number, dy: number, du: number, scratch: number, B: number, H: number, W: number, C: number, N: number, chunk: number): void;
}

let compiled: WebAssembly.Module | undefined;
let bound: { memory: WebAssembly.Memory; kernels: SimdKernels } | undefined;

/**
 * kdsearch's SIMD kernels, instantiated on the wasm backend's own memory so
 * they work on tensors in place (no copies). Compiled from bytes shipped in
 * the package: nothing is fetched.
 */
export function simdKernels(backend: WasmBackend): SimdKernels {
  const memory = backend.wasm.asm.memory;
  if (bound?.memory === memory) return bound.kernels;
  compiled ??= new WebAssembly.Module(Buffer.from(SIMD_KERNELS_BASE64, 'base64'));
  const instance = new WebAssembly.Instance(compiled, { env: { memory } });
  bound = { memory, kernels: instance.exports as unknown as SimdKernels };
  return bound.kernels;
}
