import * as ort from 'onnxruntime-node';
import { measureWarmAndAlone } from './latency';
import type { AdaptiveOptions, LatencyStats } from './latency';
import type { LatencyEffort } from '../core/metrics';
import { exportOnnx } from './export-onnx';
import type { StoredWeight } from './quantize';
import { packWeights } from './weights-pack';

/** How a student's latency is measured in onnxruntime, as deployed: its CPU build, one intra-op thread, every graph optimisation. */
export const ONNX_LATENCY_RUNTIME = 'onnxruntime-node (CPU, 1 thread, graph optimisation all)';

/** Batch-1 inference time of an ONNX model (NHWC input, as kdsearch exports it) in onnxruntime-node, warm and alone (model/latency.ts). */
export async function measureOnnxLatency(model: Uint8Array, inputShape: readonly number[], opts: AdaptiveOptions = {}): Promise<LatencyStats> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  try {
    const input = new ort.Tensor('float32', new Float32Array(inputShape.reduce((a, b) => a * b, 1)).fill(0.5), [1, ...inputShape]);
    const feeds = { [session.inputNames[0]]: input };
    return await measureWarmAndAlone(async () => {
      const out = await session.run(feeds);
      for (const t of Object.values(out)) t.dispose();
    }, opts);
  } finally {
    await session.release();
  }
}

/** A stored model's latency in onnxruntime-node, on its ONNX export at its stored precision, and what measured it. */
export async function onnxLatencyOfStored(opts: {
  topology: Record<string, unknown>;
  weights: StoredWeight[];
  inputShape: number[];
  effort?: LatencyEffort;
}): Promise<{ latency: LatencyStats; latencyRuntime: string }> {
  const { manifest, buffer } = packWeights(opts.weights);
  const { model } = exportOnnx({ topology: opts.topology, manifest, data: new Uint8Array(buffer), inputShape: opts.inputShape });
  return { latency: await measureOnnxLatency(model, opts.inputShape, { effort: opts.effort }), latencyRuntime: ONNX_LATENCY_RUNTIME };
}
