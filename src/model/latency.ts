import * as tf from '@tensorflow/tfjs';
import { aloneOnMachine } from '../core/quiet-gate';
import { quantile } from '../core/rank';
import type { LatencyEffort } from '../core/metrics';

export interface LatencyStats {
  /** Median single-sample inference time in milliseconds (DESIGN.md rule 8). */
  medianMs: number;
  p10Ms: number;
  p90Ms: number;
  /** The 95% confidence interval of the median (distribution-free, from order statistics). */
  ciLowMs: number;
  ciHighMs: number;
  /** Timed runs (after warm-up). */
  runs: number;
  /** Whether no training step of the pool's workers ran meanwhile (false only when the gate's wait gave up). */
  quiet: boolean;
  /** With a reference: its median time in this measurement, unscaled (the machine's speed at the time). */
  referenceMs?: number;
}

/**
 * A fixed network timed alternately with the model (model/latency-reference.ts):
 * each timed run of the model is divided by the reference run just before it,
 * and the median of those ratios times `nominalMs` (the reference's time at
 * the machine's full speed) is the latency.
 */
export interface LatencyReference {
  runOnce: () => Promise<void>;
  nominalMs: number;
}

/**
 * The 95% confidence interval of the median of sorted samples: the order
 * statistics n/2 -/+ 1.96 sqrt(n)/2 (the binomial count of samples below
 * the median, in its normal approximation).
 */
export function medianInterval(sorted: readonly number[]): [number, number] {
  const n = sorted.length;
  const half = (1.96 * Math.sqrt(n)) / 2;
  const lo = Math.max(0, Math.floor(n / 2 - half) - 1);
  const hi = Math.min(n - 1, Math.ceil(n / 2 + half) - 1);
  return [sorted[lo], sorted[hi]];
}

export interface AdaptiveOptions {
  /** quick: no warm-up beyond the settling runs, 30 timed runs (core/metrics.ts, LATENCY_EFFORTS). */
  effort?: LatencyEffort;
  /** Timed runs at least, and at most. */
  minRuns?: number;
  maxRuns?: number;
  /** Stop once the median's 95% interval is within +/- this fraction of it. */
  relativeHalfWidth?: number;
  /** Time budget of the timed runs (ms): a slow model stops here with what it has. */
  budgetMs?: number;
  /** Scale every run by a reference run beside it (see LatencyReference); without, the raw times. */
  reference?: LatencyReference;
}

/** The quick effort's timed runs: a fixed 30. */
const QUICK: AdaptiveOptions = { minRuns: 30, maxRuns: 30 };

/** What measurement settles for by default: +/- 3% at 95%, 30 to 1,000 runs, 3 s. */
const ADAPTIVE_DEFAULTS: Required<Omit<AdaptiveOptions, 'effort' | 'reference'>> = { minRuns: 30, maxRuns: 1000, relativeHalfWidth: 0.03, budgetMs: 3000 };

/**
 * Warm-up: rounds of WARM_ROUND_MS, until the medians of the last
 * WARM_STABLE_ROUNDS rounds lie within WARM_TOLERANCE of each other, after
 * WARM_MIN_MS at least and WARM_MAX_MS at most. Measured here (tfjs-wasm,
 * small students): a model's batch-1 time keeps falling for 2 to 3 seconds
 * of running it (V8 optimising tfjs's JavaScript as it runs), 0.102 ms to
 * 0.081 ms for a two-layer CNN, so a fixed handful of warm-up runs ranks
 * students by how warm the process was, not by their work. (Stopping
 * instead once three rounds bring no 3% improvement stopped too early:
 * bench:latency's spread went from 3% to 32%.)
 */
const WARM_ROUND_MS = 100;
const WARM_STABLE_ROUNDS = 4;
const WARM_TOLERANCE = 0.03;
const WARM_MIN_MS = 600;
const WARM_MAX_MS = 4000;
/** Runs right before the timed ones, inside the quiet section (caches refilled after others' training). */
const SETTLE_RUNS = 10;

async function timeOnce(runOnce: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await runOnce();
  return performance.now() - start;
}

/** Runs `runOnce` until its timings stop falling (see WARM_*); needs no quiet machine: it readies code, it measures nothing. */
export async function warmUp(runOnce: () => Promise<void>): Promise<void> {
  const started = performance.now();
  const medians: number[] = [];
  while (performance.now() - started < WARM_MAX_MS) {
    const times: number[] = [];
    const round = performance.now();
    while (performance.now() - round < WARM_ROUND_MS) times.push(await timeOnce(runOnce));
    medians.push(quantile(times.sort((a, b) => a - b), 0.5));
    const last = medians.slice(-WARM_STABLE_ROUNDS);
    const stable = last.length === WARM_STABLE_ROUNDS && Math.max(...last) - Math.min(...last) <= WARM_TOLERANCE * Math.min(...last);
    if (stable && performance.now() - started >= WARM_MIN_MS) return;
  }
}

/**
 * Times `runOnce` (one batch-1 inference, its result read back), warm:
 * a few settling runs, then timed runs until the median is known to the
 * asked precision or the budget is spent.
 */
export async function measureAdaptive(runOnce: () => Promise<void>, opts: AdaptiveOptions = {}): Promise<Omit<LatencyStats, 'quiet'>> {
  const o = { ...ADAPTIVE_DEFAULTS, ...opts };
  const reference = opts.reference;
  for (let i = 0; i < SETTLE_RUNS; i++) {
    if (reference) await reference.runOnce();
    await runOnce();
  }
  const times: number[] = [];
  const referenceTimes: number[] = [];
  const started = performance.now();
  for (;;) {
    if (reference) {
      // Each timed run follows an untimed one of the same network: timed right after the other network, either
      // would pay for refilling caches the other evicted (the reference ran 5 to 15% slower after a large student).
      await reference.runOnce();
      const r = await timeOnce(reference.runOnce);
      referenceTimes.push(r);
      await runOnce();
      times.push(((await timeOnce(runOnce)) / r) * reference.nominalMs);
    } else times.push(await timeOnce(runOnce));
    const n = times.length;
    if (n >= o.maxRuns || (n >= o.minRuns && performance.now() - started >= o.budgetMs)) break;
    if (n >= o.minRuns && n % 10 === 0) {
      const sorted = [...times].sort((a, b) => a - b);
      const [lo, hi] = medianInterval(sorted);
      if ((hi - lo) / 2 <= o.relativeHalfWidth * quantile(sorted, 0.5)) break;
    }
  }
  times.sort((a, b) => a - b);
  const [ciLowMs, ciHighMs] = medianInterval(times);
  const stats = { medianMs: quantile(times, 0.5), p10Ms: quantile(times, 0.1), p90Ms: quantile(times, 0.9), ciLowMs, ciHighMs, runs: times.length };
  return reference ? { ...stats, referenceMs: quantile(referenceTimes.sort((a, b) => a - b), 0.5) } : stats;
}

/** Warm-up (alongside the other workers), then the timed runs alone on the machine (core/quiet-gate.ts). */
export async function measureWarmAndAlone(runOnce: () => Promise<void>, opts: AdaptiveOptions = {}): Promise<LatencyStats> {
  if (opts.effort === 'quick') opts = { ...QUICK, ...opts };
  else await warmUp(runOnce);
  const { value, quiet } = await aloneOnMachine(() => measureAdaptive(runOnce, opts));
  return { ...value, quiet };
}

/**
 * Batch-1 inference time of a tfjs model on the active backend, warm, and
 * measured alone on the machine (no training step of the pool's other
 * workers runs meanwhile; see core/quiet-gate.ts), each prediction read
 * back so the time includes the work, not only its scheduling.
 */
export async function measureLatency(model: tf.LayersModel, inputShape: number[], opts: AdaptiveOptions = {}): Promise<LatencyStats> {
  const input = tf.tidy(() => tf.fill([1, ...inputShape], 0.5));
  try {
    return await measureWarmAndAlone(async () => {
      const out = model.predict(input) as tf.Tensor;
      await out.data();
      out.dispose();
    }, opts);
  } finally {
    input.dispose();
  }
}
