/**
 * Winograd F(2x2, 3x3) against the kernels it replaced, on the conv
 * students' layer shapes (batch 64), alternating in the same run:
 *   forward:         kdsearch's Winograd vs the backend's XNNPACK Conv2D;
 *   filter gradient: Winograd vs kdsearch's direct SIMD product.
 * (The input gradient is a forward convolution of dy with the rotated
 * filter, so the forward rows stand for it.) Prints JSON: medians of
 * --rounds rounds of --reps calls each, in ms, and their ratios.
 *
 *   npm run bench:conv -- [--rounds 7] [--reps 20]
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { directFilterGrad } from '../src/kernels/Conv2DBackpropFilter';
import { register } from '../src/register';
import type { WasmBackend } from '../src/shared/heap';
import { runWasmKernel } from '../src/shared/original';
import { winogradConv2d, winogradFilterGrad } from '../src/shared/winograd';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const rounds = Number(flag('rounds', '7'));
const reps = Number(flag('reps', '20'));
/** [batch, height, width, in channels, out channels]: the small CNN's two 3x3 layers after the first, and a 32->16 input gradient. */
const SHAPES: [number, number, number, number, number][] = [
  [64, 14, 14, 16, 32],
  [64, 7, 7, 32, 32],
  [64, 14, 14, 32, 16],
];

function msPerCall(f: () => TensorInfo, wasm: WasmBackend): number {
  const start = performance.now();
  for (let r = 0; r < reps; r++) wasm.disposeData(f().dataId);
  return (performance.now() - start) / reps;
}

async function main(): Promise<void> {
  require('@tensorflow/tfjs-backend-wasm');
  register();
  await tf.setBackend('wasm');
  const wasm = tf.backend() as unknown as WasmBackend;
  const rows = [];
  for (const [B, H, W, C, N] of SHAPES) {
    const x = tf.randomNormal([B, H, W, C]);
    const filter = tf.randomNormal([3, 3, C, N]);
    const dy = tf.randomNormal([B, H, W, N]);
    const info = tf.backend_util.computeConv2DInfo([B, H, W, C], [3, 3, C, N], 1, 1, 'same');
    const times = { xnnpack: [] as number[], winograd: [] as number[], direct: [] as number[], winogradGrad: [] as number[] };
    for (let round = 0; round <= rounds; round++) {
      const xnnpack = msPerCall(() => runWasmKernel('Conv2D', wasm, { x, filter }, { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1 }), wasm);
      const winograd = msPerCall(() => winogradConv2d(wasm, x, filter, info), wasm);
      const direct = msPerCall(() => directFilterGrad(wasm, x, dy, info), wasm);
      const winogradGrad = msPerCall(() => winogradFilterGrad(wasm, x, dy, info), wasm);
      if (round === 0) continue; // warm-up
      times.xnnpack.push(xnnpack);
      times.winograd.push(winograd);
      times.direct.push(direct);
      times.winogradGrad.push(winogradGrad);
    }
    tf.dispose([x, filter, dy]);
    const m = (v: number[]) => Math.round(median(v) * 1000) / 1000;
    rows.push({
      shape: { batch: B, height: H, width: W, inChannels: C, outChannels: N },
      forward: { xnnpackMs: m(times.xnnpack), winogradMs: m(times.winograd), speedup: Math.round((median(times.xnnpack) / median(times.winograd)) * 100) / 100 },
      filterGradient: { directMs: m(times.direct), winogradMs: m(times.winogradGrad), speedup: Math.round((median(times.direct) / median(times.winogradGrad)) * 100) / 100 },
    });
  }
  console.log(JSON.stringify({ command: 'npm run bench:conv', rounds, reps, layers: rows }, null, 1));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
