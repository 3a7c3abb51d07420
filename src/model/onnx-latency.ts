import * as ort from 'onnxruntime-node';
import { measureWarmAndAlone } from './latency';
import type { AdaptiveOptions, LatencyStats } from './latency';
import type { LatencyEffort } from '../core/metrics';
import { exportOnnx } from './export-onnx';
import type { StoredWeight } from './quantize';
import { packWeights } from './weights-pack';

/** How a student's latency is measured in onnxruntime, as deployed: its CPU build, one intra-op thread, every graph optimisation. */
export const ONNX_LATENCY_RUNTIME = 'onnxruntime-node (CPU, 1 thread, graph optimisation all)';

/** An ONNX model (NHWC input, as kdsearch exports it) in a deployment-like session: one batch-1 inference per call. */
export async function onnxRunner(model: Uint8Array, inputShape: readonly number[]): Promise<{ runOnce: () => Promise<void>; release: () => Promise<void> }> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const input = new ort.Tensor('float32', new Float32Array(inputShape.reduce((a, b) => a * b, 1)).fill(0.5), [1, ...inputShape]);
  const feeds = { [session.inputNames[0]]: input };
  return {
    runOnce: async () => {
      const out = await session.run(feeds);
      for (const t of Object.values(out)) t.dispose();
    },
    release: () => session.release(),
  };
}

/** Stored weights of a Keras topology as an ONNX model. */
export function onnxOfStored(opts: { topology: Record<string, unknown>; weights: StoredWeight[]; inputShape: number[] }): Uint8Array {
  const { manifest, buffer } = packWeights(opts.weights);
  return exportOnnx({ topology: opts.topology, manifest, data: new Uint8Array(buffer), inputShape: opts.inputShape }).model;
}

/** Batch-1 inference time of an ONNX model in onnxruntime-node, warm and alone (model/latency.ts). */
export async function measureOnnxLatency(model: Uint8Array, inputShape: readonly number[], opts: AdaptiveOptions = {}): Promise<LatencyStats> {
  const runner = await onnxRunner(model, inputShape);
  try {
    return await measureWarmAndAlone(runner.runOnce, opts);
  } finally {
    await runner.release();
  }
}

/** A stored model's latency in onnxruntime-node, on its ONNX export at its stored precision, and what measured it. */
export async function onnxLatencyOfStored(opts: {
  topology: Record<string, unknown>;
  weights: StoredWeight[];
  inputShape: number[];
  effort?: LatencyEffort;
  reference?: AdaptiveOptions['reference'];
}): Promise<{ latency: LatencyStats; latencyRuntime: string }> {
  const latency = await measureOnnxLatency(onnxOfStored(opts), opts.inputShape, { effort: opts.effort, reference: opts.reference });
  return { latency, latencyRuntime: ONNX_LATENCY_RUNTIME };
}
