import * as tf from '@tensorflow/tfjs';

export interface LatencyStats {
  /** Median single-sample inference time in milliseconds (DESIGN.md rule 8). */
  medianMs: number;
  p10Ms: number;
  p90Ms: number;
  runs: number;
}

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Batch-1 inference time on the active backend: warm-up runs first (kernel
 * setup, JIT), then `runs` timed predictions, each read back so the time
 * includes the work, not only its scheduling.
 */
export async function measureLatency(
  model: tf.LayersModel,
  inputShape: number[],
  opts: { warmup?: number; runs?: number } = {},
): Promise<LatencyStats> {
  const warmup = opts.warmup ?? 10;
  const runs = opts.runs ?? 60;
  const input = tf.tidy(() => tf.fill([1, ...inputShape], 0.5));
  const times: number[] = [];
  try {
    for (let i = 0; i < warmup + runs; i++) {
      const start = performance.now();
      const out = model.predict(input) as tf.Tensor;
      await out.data();
      out.dispose();
      if (i >= warmup) times.push(performance.now() - start);
    }
  } finally {
    input.dispose();
  }
  times.sort((a, b) => a - b);
  return { medianMs: quantile(times, 0.5), p10Ms: quantile(times, 0.1), p90Ms: quantile(times, 0.9), runs };
}
