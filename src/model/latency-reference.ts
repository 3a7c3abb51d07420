import * as tf from '@tensorflow/tfjs';
import type { LatencyCalibration, LatencyEffort, LatencyRuntime } from '../core/metrics';
import { REFERENCE_NAMES } from '../core/metrics';
import type { ReferenceName } from '../core/metrics';
import { architectureSummary, concreteSpecSchema } from '../space/student';
import type { ConcreteSpec } from '../space/student';
import { buildModel } from './build';
import { warmUp, windowMedian } from './latency';
import type { LatencyReference } from './latency';
import { quantizeModel } from './quantize-model';

/**
 * The reference networks: fixed networks whose batch-1 times gauge how
 * fast the machine runs at the moment. Why they exist: this 2-core host
 * runs at two speeds, switching within seconds (one CNN at 0.27 or 0.41 ms
 * from one measurement to the next), so raw medians measured minutes apart
 * vary by 15 to 23% however carefully each is taken. Timed beside a
 * student, the references run at the same speed. Why three of them, of
 * three sizes: a slow spell is not one factor on every network. In 1 s
 * windows over 90 s (scratch measurement on this host), the large
 * network's time rose 2.85 ms per ms the medium one rose, while their
 * ratio was 3.68: a slow spell adds time as well as multiplying it, so a
 * student scaled by one reference of another size came out up to 12% low
 * (large students) in some searches. Each timed run of a student is
 * therefore placed on the line through the two references that bracket
 * it, timed beside it (model/latency.ts), each reference's time at the
 * machine's full speed calibrated once per experiment and stored with it.
 */
const REFERENCE_SPECS: Record<ReferenceName, ConcreteSpec> = {
  small: concreteSpecSchema.parse({ kind: 'mlp', hidden: [32] }),
  medium: concreteSpecSchema.parse({ kind: 'cnn', blocks: [{ filters: 8, kernel: 3 }, { filters: 16, kernel: 3 }], dense: [32] }),
  large: concreteSpecSchema.parse({ kind: 'cnn', blocks: [{ filters: 32, kernel: 3 }, { filters: 64, kernel: 3 }], dense: [128] }),
};
const REFERENCE_INPUT = [28, 28, 1];

/** Readable names of the references, for the JSON of benchmarks. */
export const REFERENCE_NETWORKS = Object.fromEntries(
  REFERENCE_NAMES.map((name) => [name, `${architectureSummary(REFERENCE_SPECS[name])} on a ${REFERENCE_INPUT.join('x')} input, seed 0`]),
) as Record<ReferenceName, string>;

type Runner = () => Promise<void>;

/**
 * One reference per network per runtime per process (thread), built on
 * first use and kept: its tensors stay alive by design. Warmed
 * (model/latency.ts, warmUp) the first time a careful measurement needs
 * it; the quick effort warms nothing, as for the students.
 */
const runners = new Map<string, { runOnce: Promise<Runner>; warmed?: Promise<void> }>();

async function buildRunner(runtime: LatencyRuntime, name: ReferenceName): Promise<Runner> {
  const model = buildModel(REFERENCE_SPECS[name], { inputShape: REFERENCE_INPUT, numClasses: 10, seed: 0 });
  if (runtime === 'onnxruntime') {
    const { onnxOfStored, onnxRunner } = await import('./onnx-latency');
    const weights = quantizeModel(model, { precision: 'float32', quantization: 'per-tensor' });
    const onnx = onnxOfStored({ topology: model.toJSON(null, false) as never, weights, inputShape: REFERENCE_INPUT });
    model.dispose();
    return (await onnxRunner(onnx, REFERENCE_INPUT)).runOnce;
  }
  const input = tf.fill([1, ...REFERENCE_INPUT], 0.5);
  return async () => {
    const out = model.predict(input) as tf.Tensor;
    await out.data();
    out.dispose();
  };
}

async function referenceRunner(runtime: LatencyRuntime, name: ReferenceName, effort: LatencyEffort): Promise<Runner> {
  const key = `${runtime}/${name}`;
  let runner = runners.get(key);
  if (!runner) {
    runner = { runOnce: buildRunner(runtime, name) };
    runners.set(key, runner);
  }
  const runOnce = await runner.runOnce;
  if (effort === 'careful') await (runner.warmed ??= warmUp(runOnce));
  return runOnce;
}

/** The references to time students against, each scaled to an experiment's calibrated time. */
export async function latencyReference(runtime: LatencyRuntime, calibration: LatencyCalibration, effort: LatencyEffort = 'careful'): Promise<LatencyReference> {
  const networks = [];
  for (const name of REFERENCE_NAMES) networks.push({ runOnce: await referenceRunner(runtime, name, effort), nominalMs: calibration[name] });
  return { networks };
}

/**
 * Each reference's batch-1 time at the machine's full speed: the fastest
 * of several short windows' medians (a window that falls in a slow spell
 * is outvoted by one that does not). The references take turns, window by
 * window, so all three are calibrated in the same spells (one calibrated
 * after the others, alone in a slow spell, would bend the line every
 * student is placed on); careful calibration spreads its 20 rounds over
 * about 8 s, longer than most slow spells here (5 to 15 s), with pauses.
 * Careful: 20 rounds of 50 ms windows after the warm-up, 250 ms apart;
 * quick: 5 rounds of 40 ms, cold, back to back.
 */
export async function calibrateReferences(runtime: LatencyRuntime, effort: LatencyEffort = 'careful'): Promise<LatencyCalibration> {
  const [rounds, windowMs, pauseMs] = effort === 'quick' ? [5, 40, 0] : [20, 50, 250];
  const runs: Runner[] = [];
  for (const name of REFERENCE_NAMES) runs.push(await referenceRunner(runtime, name, effort));
  const fastest = REFERENCE_NAMES.map(() => Infinity);
  for (let round = 0; round < rounds; round++) {
    if (round && pauseMs) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    for (const [k, runOnce] of runs.entries()) fastest[k] = Math.min(fastest[k], await windowMedian(runOnce, windowMs));
  }
  return Object.fromEntries(REFERENCE_NAMES.map((name, k) => [name, fastest[k]])) as LatencyCalibration;
}

/**
 * An experiment stored when only the medium reference was calibrated: the
 * other two calibrated now, in the stored medium's units (each scaled by
 * the stored medium over today's), so its earlier latencies and its later
 * ones stay on one scale.
 */
export async function extendLegacyCalibration(runtime: LatencyRuntime, mediumMs: number, effort: LatencyEffort = 'careful'): Promise<LatencyCalibration> {
  return inUnitsOfMedium(await calibrateReferences(runtime, effort), mediumMs);
}

/** A calibration rescaled so that its medium reference takes `mediumMs`. */
export function inUnitsOfMedium(calibration: LatencyCalibration, mediumMs: number): LatencyCalibration {
  const scale = mediumMs / calibration.medium;
  return { small: calibration.small * scale, medium: mediumMs, large: calibration.large * scale };
}

/** One line for logs: each reference's calibrated time. */
export function describeCalibration(calibration: LatencyCalibration): string {
  return REFERENCE_NAMES.map((name) => `${name} ${calibration[name].toFixed(4)} ms`).join(', ');
}
