import * as tf from '@tensorflow/tfjs';
import { measureLatency } from '../src/model/latency';
import { latencyReference } from '../src/model/latency-reference';
import { dequantizeWeight } from '../src/model/quantize';
import { unpackWeights } from '../src/model/weights-pack';
import type { WeightEntry } from '../src/core/weights';
import type { LatencyCalibration } from '../src/core/metrics';

/** One alone measurement of a model: its median and the median's 95% interval. */
export interface AloneTiming {
  median: number;
  lo: number;
  hi: number;
}

/**
 * Stored students (topology, manifest, packed weights) rebuilt in this
 * process and timed alone, one after another, `rounds` times each, after
 * one untimed pass (this process has run none of them yet), placed between the
 * reference networks calibrated at `references` as a search places them
 * (model/latency-reference.ts; raw times without them). Disposes them.
 */
export async function timeStoredAlone(opts: {
  stored: ReadonlyArray<{ topology: object; manifest: readonly WeightEntry[]; data: Uint8Array }>;
  inputShape: number[];
  rounds: number;
  references?: LatencyCalibration;
  onRound?: (round: number) => void;
}): Promise<AloneTiming[][]> {
  const { stored, inputShape, rounds, onRound = () => {} } = opts;
  const reference = opts.references ? await latencyReference('tfjs-wasm', opts.references) : undefined;
  const models = await Promise.all(
    stored.map(async (s) => {
      const model = await tf.models.modelFromJSON(s.topology as never);
      const tensors = unpackWeights(s.manifest, s.data).map((w) => tf.tensor(dequantizeWeight(w), w.shape));
      model.setWeights(tensors);
      tf.dispose(tensors);
      return model;
    }),
  );
  try {
    for (const m of models) await measureLatency(m, inputShape, { minRuns: 10, maxRuns: 10 });
    const alone: AloneTiming[][] = models.map(() => []);
    for (let round = 0; round < rounds; round++) {
      for (const [i, m] of models.entries()) {
        const s = await measureLatency(m, inputShape, { reference });
        alone[i].push({ median: s.medianMs, lo: s.ciLowMs, hi: s.ciHighMs });
      }
      onRound(round);
    }
    return alone;
  } finally {
    models.forEach((m) => m.dispose());
  }
}
