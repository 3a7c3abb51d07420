import * as tf from '@tensorflow/tfjs';
import type { LatencyEffort, LatencyRuntime } from '../core/metrics';
import { quantile } from '../core/rank';
import { concreteSpecSchema } from '../space/student';
import { buildModel } from './build';
import { warmUp } from './latency';
import type { LatencyReference } from './latency';
import { quantizeModel } from './quantize-model';

/**
 * The reference network: a fixed small CNN whose batch-1 time gauges how
 * fast the machine runs at the moment. Why it exists: this 2-core host
 * runs at two speeds, switching within seconds (one CNN at 0.27 or 0.41 ms
 * from one measurement to the next), so raw medians measured minutes apart
 * vary by 15 to 23% however carefully each is taken. Timed alternately with
 * a student, the reference runs at the same speed, and the median of the
 * student's time over the reference's varied by 2 to 4% over the same
 * runs (scratch measurement, 15 rounds of 4 models). The latency is that
 * ratio times the reference's time at the machine's full speed, calibrated
 * once per experiment (calibrateReference) and stored with it.
 */
const REFERENCE_SPEC = concreteSpecSchema.parse({ kind: 'cnn', blocks: [{ filters: 8, kernel: 3 }, { filters: 16, kernel: 3 }], dense: [32] });
const REFERENCE_INPUT = [28, 28, 1];

/** Readable name of the reference, for the README and the JSON of benchmarks. */
export const REFERENCE_NETWORK = 'cnn c8k3 c16k3 d32 on a 28x28x1 input, seed 0, float32';

type Runner = () => Promise<void>;

/**
 * One reference per runtime per process (thread), built on first use and
 * kept: its tensors stay alive by design. Warmed (model/latency.ts, warmUp)
 * the first time a careful measurement needs it; the quick effort warms
 * nothing, as for the students.
 */
const runners = new Map<LatencyRuntime, { runOnce: Promise<Runner>; warmed?: Promise<void> }>();

async function buildRunner(runtime: LatencyRuntime): Promise<Runner> {
  const model = buildModel(REFERENCE_SPEC, { inputShape: REFERENCE_INPUT, numClasses: 10, seed: 0 });
  let runOnce: Runner;
  if (runtime === 'onnxruntime') {
    const { onnxOfStored, onnxRunner } = await import('./onnx-latency');
    const weights = quantizeModel(model, { precision: 'float32', quantization: 'per-tensor' });
    const onnx = onnxOfStored({ topology: model.toJSON(null, false) as never, weights, inputShape: REFERENCE_INPUT });
    model.dispose();
    runOnce = (await onnxRunner(onnx, REFERENCE_INPUT)).runOnce;
  } else {
    const input = tf.fill([1, ...REFERENCE_INPUT], 0.5);
    runOnce = async () => {
      const out = model.predict(input) as tf.Tensor;
      await out.data();
      out.dispose();
    };
  }
  return runOnce;
}

async function referenceRunner(runtime: LatencyRuntime, effort: LatencyEffort): Promise<Runner> {
  let runner = runners.get(runtime);
  if (!runner) {
    runner = { runOnce: buildRunner(runtime) };
    runners.set(runtime, runner);
  }
  const runOnce = await runner.runOnce;
  if (effort === 'careful') await (runner.warmed ??= warmUp(runOnce));
  return runOnce;
}

/** The reference to time students against, scaled to an experiment's calibrated `nominalMs`. */
export async function latencyReference(runtime: LatencyRuntime, nominalMs: number, effort: LatencyEffort = 'careful'): Promise<LatencyReference> {
  return { runOnce: await referenceRunner(runtime, effort), nominalMs };
}

/**
 * The reference's batch-1 time at the machine's full speed: the fastest of
 * several short windows' medians (a window that falls in a slow spell is
 * outvoted by one that does not). Careful: 20 windows of 50 ms after the
 * warm-up; quick: 5 of 40 ms, cold.
 */
export async function calibrateReference(runtime: LatencyRuntime, effort: LatencyEffort = 'careful'): Promise<number> {
  const runOnce = await referenceRunner(runtime, effort);
  const [windows, windowMs] = effort === 'quick' ? [5, 40] : [20, 50];
  let fastest = Infinity;
  for (let w = 0; w < windows; w++) {
    const times: number[] = [];
    const started = performance.now();
    while (performance.now() - started < windowMs) {
      const t = performance.now();
      await runOnce();
      times.push(performance.now() - t);
    }
    fastest = Math.min(fastest, quantile(times.sort((a, b) => a - b), 0.5));
  }
  return fastest;
}
