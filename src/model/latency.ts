import * as tf from '@tensorflow/tfjs';
import { aloneOnMachine, quietlyAsync } from '../core/quiet-gate';
import { median, quantile } from '../core/rank';
import type { LatencyEffort } from '../core/metrics';
import { KdError } from '../core/errors';

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
  /** With references: the lower bracketing one's median time in this measurement, unscaled (the machine's speed at the time). */
  referenceMs?: number;
  /**
   * With references: how slow the machine ran during the timed runs, the
   * median over timed samples of the bracketing references' time now over
   * their time at full speed (1: full speed).
   */
  slowdown?: number;
  /** With references, careful: whether every part was timed at full speed (false only when the wait for a slow spell to pass gave up). */
  fullSpeed?: boolean;
}

/** A reference network (model/latency-reference.ts): its run, and its time at the machine's full speed. */
export interface ReferenceNetwork {
  runOnce: () => Promise<void>;
  nominalMs: number;
}

/**
 * Reference networks of several sizes, timed beside the model: each timed
 * run of the model is placed on the line through the two references that
 * bracket it in time, as they ran just before it (their times now against
 * their times at full speed; see placeOnLine), and the median of those is
 * the latency. Two at least.
 */
export interface LatencyReference {
  networks: ReferenceNetwork[];
}

/**
 * The model's time at full speed, from its time now and two references'
 * times now and at full speed: the machine's slowdown taken as
 * `now = a * full + b` (a slow spell multiplies and adds; model/latency-reference.ts),
 * a and b solved from the two references. When their times now do not
 * rise with their times at full speed (one run disturbed), the ratio to
 * the reference nearer the model's time.
 */
export function placeOnLine(modelNow: number, lo: { now: number; full: number }, hi: { now: number; full: number }): number {
  const a = (hi.now - lo.now) / (hi.full - lo.full);
  if (!(a > 0)) {
    const near = Math.abs(Math.log(modelNow / lo.now)) <= Math.abs(Math.log(modelNow / hi.now)) ? lo : hi;
    return (modelNow / near.now) * near.full;
  }
  return (modelNow - (lo.now - a * lo.full)) / a;
}

/** The two adjacent references (by full-speed time) whose times bracket `modelMs`, or the nearest two at either end. */
export function bracket(networksMs: readonly number[], modelMs: number): [number, number] {
  let i = 0;
  while (i < networksMs.length - 2 && modelMs > networksMs[i + 1]) i++;
  return [i, i + 1];
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
  /** Place every run between reference runs beside it (see LatencyReference); without, the raw times. */
  reference?: LatencyReference;
  /** Careful, with references: how long a measurement waits at most for a slow spell to pass (ms; see SLOW_SPELL_WAIT_MS). */
  slowSpellWaitMs?: number;
}

/** The quick effort's timed runs: a fixed 30. */
const QUICK: AdaptiveOptions = { minRuns: 30, maxRuns: 30 };

/** What measurement settles for by default: +/- 3% at 95%, 30 to 1,000 runs, 3 s. */
const ADAPTIVE_DEFAULTS: Required<Omit<AdaptiveOptions, 'effort' | 'reference' | 'slowSpellWaitMs'>> = { minRuns: 30, maxRuns: 1000, relativeHalfWidth: 0.03, budgetMs: 3000 };

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

/**
 * The median time of `runOnce` over runs for `windowMs`, each run a compute
 * section of the quiet gate (timed inside it: a wait for another's
 * measurement is not the model's time).
 */
export async function windowMedian(runOnce: () => Promise<void>, windowMs: number): Promise<number> {
  const times: number[] = [];
  const started = performance.now();
  while (performance.now() - started < windowMs) times.push(await quietlyAsync(() => timeOnce(runOnce)));
  return median(times);
}

/**
 * Runs `runOnce` until its timings stop falling (see WARM_*). It needs no
 * quiet machine (it readies code, it measures nothing) but keeps others'
 * measurements quiet: each run is a compute section of the quiet gate, as
 * a training step is (a warm-up beside a measurement on the other core
 * slowed it as a slow spell does).
 */
export async function warmUp(runOnce: () => Promise<void>): Promise<void> {
  const started = performance.now();
  const medians: number[] = [];
  while (performance.now() - started < WARM_MAX_MS) {
    medians.push(await windowMedian(runOnce, WARM_ROUND_MS));
    const last = medians.slice(-WARM_STABLE_ROUNDS);
    const stable = last.length === WARM_STABLE_ROUNDS && Math.max(...last) - Math.min(...last) <= WARM_TOLERANCE * Math.min(...last);
    if (stable && performance.now() - started >= WARM_MIN_MS) return;
  }
}

/** A timed run that follows an untimed one of the same network: timed right after another network, it would pay for
 * refilling caches the other evicted (the medium reference ran 5 to 15% slower after a large student). */
async function warmTimed(run: () => Promise<void>): Promise<number> {
  await run();
  return timeOnce(run);
}

/** An option's references, fastest first; two at least. */
function sortedNetworks(reference: LatencyReference | undefined): ReferenceNetwork[] {
  const networks = [...(reference?.networks ?? [])].sort((a, b) => a.nominalMs - b.nominalMs);
  if (networks.length === 1) throw new KdError('INTERNAL', 'latency references: two networks at least, to place a model between them');
  return networks;
}

type Pair = [ReferenceNetwork, ReferenceNetwork];

/** How slow the machine runs, from the pair's times now: their time over their time at full speed, averaged. */
const pairSlowdown = ([lo, hi]: Pair, loNow: number, hiNow: number) => (loNow / lo.nominalMs + hiNow / hi.nominalMs) / 2;

/**
 * The settling runs (caches refilled after others' work). With references,
 * each network's timed in warm pairs beside the model's, to choose the two
 * references that bracket the model and to say how slow the machine runs
 * now (the pair's time over its time at full speed, averaged).
 */
async function settle(runOnce: () => Promise<void>, networks: ReferenceNetwork[]): Promise<{ pair?: Pair; slowdown?: number }> {
  if (!networks.length) {
    for (let i = 0; i < SETTLE_RUNS; i++) await runOnce();
    return {};
  }
  const model: number[] = [];
  const times = networks.map(() => [] as number[]);
  for (let i = 0; i < SETTLE_RUNS; i++) {
    for (const [k, net] of networks.entries()) times[k].push(await warmTimed(net.runOnce));
    model.push(await warmTimed(runOnce));
  }
  const [i, j] = bracket(times.map(median), median(model));
  const pair: Pair = [networks[i], networks[j]];
  return { pair, slowdown: pairSlowdown(pair, median(times[i]), median(times[j])) };
}

/** The timed runs, placed between the pair when there is one, until the median is known to the asked precision or the budget is spent. */
async function timeRuns(runOnce: () => Promise<void>, pair: Pair | undefined, opts: AdaptiveOptions): Promise<Omit<LatencyStats, 'quiet'>> {
  const o = { ...ADAPTIVE_DEFAULTS, ...opts };
  const times: number[] = [];
  const referenceTimes: number[] = [];
  const slowdowns: number[] = [];
  const started = performance.now();
  for (;;) {
    if (pair) {
      const [lo, hi] = pair;
      const loNow = await warmTimed(lo.runOnce);
      const hiNow = await warmTimed(hi.runOnce);
      referenceTimes.push(loNow);
      slowdowns.push(pairSlowdown(pair, loNow, hiNow));
      times.push(placeOnLine(await warmTimed(runOnce), { now: loNow, full: lo.nominalMs }, { now: hiNow, full: hi.nominalMs }));
    } else times.push(await timeOnce(runOnce));
    const n = times.length;
    if (n >= o.maxRuns || (n >= o.minRuns && performance.now() - started >= o.budgetMs)) break;
    if (n >= o.minRuns && n % 10 === 0) {
      const sorted = [...times].sort((a, b) => a - b);
      const [ciLo, ciHi] = medianInterval(sorted);
      if ((ciHi - ciLo) / 2 <= o.relativeHalfWidth * quantile(sorted, 0.5)) break;
    }
  }
  times.sort((a, b) => a - b);
  const [ciLowMs, ciHighMs] = medianInterval(times);
  const stats = { medianMs: quantile(times, 0.5), p10Ms: quantile(times, 0.1), p90Ms: quantile(times, 0.9), ciLowMs, ciHighMs, runs: times.length };
  return pair ? { ...stats, referenceMs: median(referenceTimes), slowdown: median(slowdowns) } : stats;
}

/**
 * Times `runOnce` (one batch-1 inference, its result read back), warm:
 * a few settling runs, then timed runs until the median is known to the
 * asked precision or the budget is spent.
 */
export async function measureAdaptive(runOnce: () => Promise<void>, opts: AdaptiveOptions = {}): Promise<Omit<LatencyStats, 'quiet'>> {
  const { pair } = await settle(runOnce, sortedNetworks(opts.reference));
  return timeRuns(runOnce, pair, opts);
}

/**
 * Slow spells. This host runs at two speeds for seconds at a time (scratch
 * measurement over 4 minutes: spells of 5 to 15 s in which the references
 * ran 1.45 to 1.6 times slower), and a slow spell does not slow every
 * network alike: a memory-bound MLP (784-256-64) slowed 1.42x, CNNs 1.5 to
 * 1.62x, so placed between references it came out 5 to 10% low in every
 * slow spell and within +/-4% outside them. What placement cannot correct
 * is avoided: a careful measurement waits (without holding the quiet gate,
 * so the other workers train meanwhile) until the references run within
 * SLOW_SPELL_MARGIN of the fastest this process has measured them at,
 * SLOW_SPELL_WAIT_MS at most over all its parts; after that it takes what
 * the machine gives, placed, and says so (`fullSpeed: false`), and that
 * speed becomes the process's full speed.
 */
const SLOW_SPELL_MARGIN = 0.3;
const SLOW_SPELL_WAIT_MS = 15_000;
const SLOW_SPELL_POLL_MS = 250;
/**
 * Parts of a careful measurement: its median is the middle part's. Outside
 * slow spells, one measurement in 30 to 40 still lands 6 to 14% off
 * (scratch, same 4 minutes), alone in time; the middle of three is off
 * only when two are.
 */
const PARTS = 3;

/** The lowest slowdown measured in this process (thread) per calibration: what full speed looks like here. */
const fastest = new Map<string, number>();
const calibrationKey = (reference: LatencyReference) => reference.networks.map((n) => n.nominalMs).join('/');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A careful measurement between references: PARTS parts, each timed alone
 * on the machine (core/quiet-gate.ts) and outside slow spells (see
 * SLOW_SPELL_*); the middle part's statistics, with every part's runs.
 */
export async function measureAtFullSpeed(runOnce: () => Promise<void>, opts: AdaptiveOptions & { reference: LatencyReference }): Promise<LatencyStats> {
  const key = calibrationKey(opts.reference);
  const limit = () => (fastest.get(key) ?? 1) * (1 + SLOW_SPELL_MARGIN);
  const networks = sortedNetworks(opts.reference);
  const deadline = performance.now() + (opts.slowSpellWaitMs ?? SLOW_SPELL_WAIT_MS);
  const parts: LatencyStats[] = [];
  while (parts.length < PARTS) {
    const patient = performance.now() < deadline;
    const { value, quiet } = await aloneOnMachine(async () => {
      const settled = await settle(runOnce, networks);
      return patient && settled.slowdown! > limit() ? undefined : timeRuns(runOnce, settled.pair, opts);
    });
    const atFullSpeed = value !== undefined && value.slowdown! <= limit();
    if (value) fastest.set(key, Math.min(fastest.get(key) ?? Infinity, value.slowdown!));
    if (value && (atFullSpeed || !patient)) parts.push({ ...value, quiet, fullSpeed: atFullSpeed });
    else await sleep(SLOW_SPELL_POLL_MS);
  }
  const fullSpeed = parts.every((p) => p.fullSpeed);
  // Waited out in vain: the speed measured now is this worker's full speed from here on, so a machine whose fastest
  // state was a burst (a laptop's turbo before its clocks settle) waits once, not before every student.
  if (!fullSpeed) fastest.set(key, Math.max(...parts.map((p) => p.slowdown!)));
  parts.sort((a, b) => a.medianMs - b.medianMs);
  const middle = parts[Math.floor(PARTS / 2)];
  return { ...middle, runs: parts.reduce((n, p) => n + p.runs, 0), quiet: parts.every((p) => p.quiet), fullSpeed };
}

/**
 * Warm-up (alongside the other workers), then the timed runs alone on the
 * machine (core/quiet-gate.ts); between references and careful, at full
 * speed and in parts (measureAtFullSpeed).
 */
export async function measureWarmAndAlone(runOnce: () => Promise<void>, opts: AdaptiveOptions = {}): Promise<LatencyStats> {
  if (opts.effort === 'quick') opts = { ...QUICK, ...opts };
  else await warmUp(runOnce);
  if (opts.reference && opts.effort !== 'quick') return measureAtFullSpeed(runOnce, { ...opts, reference: opts.reference });
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
