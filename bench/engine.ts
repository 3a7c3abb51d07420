/**
 * Training-engine speed against a same-run PyTorch reference, and across
 * worker threads (issue #7).
 *
 * A first, unrecorded round warms every pool and reference process up.
 * Every measurement trains for --seconds of wall time (at least --steps
 * steps) after a warm-up of --warmup-seconds (at least --warmup steps):
 * V8 keeps optimizing the step's JS for about 2 s, on helper threads that a
 * second worker would otherwise find busy.
 * Part 1, ratio: for each student family, kdsearch's training step (timed in
 * one Piscina worker, as a trial runs) and bench/reference/kd_pytorch.py
 * (same layers, batch, KD loss, Adam, cached logits, 1 thread) alternate,
 * round by round, which of the two goes first alternating too. Reports both
 * medians, the ratio of medians and the median of per-round ratios.
 * Part 2, scaling: N Piscina workers and N PyTorch processes of 1 thread
 * (the machine's own ceiling) each build and warm up the family's model, then
 * follow one wall-clock schedule of --phase-seconds phases: kdsearch on 1,
 * then N workers, PyTorch on 1, then N processes, and back in reverse (the
 * others sleep; the lone worker or process alternates every half cycle),
 * --cycles times. 1 and N, ours and theirs, are measured in
 * interleaved slices of the same minutes with warm models, so the machine's
 * drifting load hits all alike. Everyone sleeps through the first --pause-ms
 * of every phase, so each phase starts alike for every trainer of every
 * count (see PhaseSchedule). Aggregate samples/s per side, count and
 * cycle; reports the median per count and the scaling to 1.
 *
 *   npm run bench:engine -- [--families mlp,small-cnn,separable-cnn] [--rounds 5]
 *     [--seconds 4] [--steps 20] [--warmup 10] [--warmup-seconds 2] [--batch 64] [--backends wasm,node] [--workers 1,2]
 *     [--cycles 15] [--phase-seconds 1] [--pause-ms 100]
 *     [--python /usr/bin/python3] [--skip-reference] [--skip-ratio] [--skip-workers]
 *
 * The reference must be the best PyTorch can be here: Debian's torch calls
 * whatever BLAS is installed, so install OpenBLAS beside it
 * (apt-get install -y python3-torch libopenblas0-pthread). The JSON's
 * "pytorchBlas" (and each ratio part's "blas") names the library the
 * reference process had loaded, read from its /proc/self/maps.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Piscina from 'piscina';
import { workerResourceLimits } from '../src/runtime/piscina-executor';
import type { EngineTask } from './engine-worker';
import { flag, median } from './stats';
import { FAMILY_FILES, ROOT, familySpec } from './training-throughput';
import type { PhaseSchedule, ThroughputResult } from './training-throughput';

const families = flag('families', Object.keys(FAMILY_FILES).join(',')).split(',');
const rounds = Number(flag('rounds', '5'));
const steps = Number(flag('steps', '20'));
const seconds = Number(flag('seconds', '4'));
/** The unrecorded first round: long enough to tier up, short enough not to matter. */
const WARMUP_ROUND_SECONDS = 1;
/** From now until a schedule starts, besides the warm-up: model build, a pool's first backend load. */
const SCHEDULE_SETUP_MS = 4000;
const warmup = Number(flag('warmup', '10'));
const warmupSeconds = Number(flag('warmup-seconds', '2'));
const batchSize = Number(flag('batch', '64'));
const backends = flag('backends', 'wasm,node').split(',') as EngineTask['backend'][];
const workerCounts = flag('workers', '1,2').split(',').map(Number);
const python = flag('python', '/usr/bin/python3');
const skipReference = process.argv.includes('--skip-reference');
const skipWorkers = process.argv.includes('--skip-workers');
const skipRatio = process.argv.includes('--skip-ratio');
const cycles = Number(flag('cycles', '15'));
const phaseSeconds = Number(flag('phase-seconds', '1'));
const pauseMs = Number(flag('pause-ms', '100'));
if (!(pauseMs >= 0 && pauseMs < phaseSeconds * 1000)) throw new Error(`--pause-ms ${pauseMs}: expected a number of ms from 0 to under one phase (--phase-seconds ${phaseSeconds})`);
const log = (line: string) => process.stderr.write(`${line}\n`);
const round1 = (v: number) => Math.round(v);
const round3 = (v: number) => Math.round(v * 1000) / 1000;

function pool(threads: number): Piscina {
  return new Piscina({
    filename: join(__dirname, 'engine-worker.js'),
    minThreads: threads,
    maxThreads: threads,
    concurrentTasksPerWorker: 1,
    idleTimeout: 600_000,
    resourceLimits: workerResourceLimits(),
  });
}

/** The BLAS the reference process loaded: its matrix products, hence its speed, depend on it. */
interface BlasInfo {
  kind: string;
  library: string;
}

interface ReferenceAnswer {
  samplesPerSec: number;
  torch: string;
  blas?: BlasInfo;
  phaseSteps?: number[];
  readyAtMs?: number;
}

let warnedBlas = false;
/** What the last reference answer said it loaded, for the top of the JSON. */
let referenceBlas: BlasInfo | undefined;

/** The PyTorch reference as a line-oriented server (one JSON request, one JSON answer). */
class Reference {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly answers: string[] = [];
  private readonly waiters: { resolve: (line: string) => void; reject: (err: Error) => void }[] = [];
  private stderr = '';
  private failed: Error | undefined;

  constructor() {
    this.child = spawn(python, [join(ROOT, 'bench', 'reference', 'kd_pytorch.py')], { env: { ...process.env, OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' } });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      const waiter = this.waiters.shift();
      if (waiter) waiter.resolve(line);
      else this.answers.push(line);
    });
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    const fail = (why: string) => {
      const error = new Error(`the PyTorch reference (${python} bench/reference/kd_pytorch.py) ${why}: ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      for (const waiter of this.waiters.splice(0)) waiter.reject(error);
      this.failed = error;
    };
    this.child.on('exit', (code) => fail(`exited (code ${code})`));
    this.child.on('error', (err) => fail(`did not start (${err.message})`));
    this.child.stdin.on('error', (err) => fail(`closed its input (${err.message})`));
  }

  async measure(family: string, opts: { seconds?: number; schedule?: PhaseSchedule } = {}): Promise<ReferenceAnswer> {
    if (this.failed) throw this.failed;
    const request = { spec: familySpec(family), steps, seconds: opts.seconds ?? seconds, schedule: opts.schedule, warmup, warmupSeconds, batch: batchSize, temperature: 4, alpha: 0.7, rows: 2048 };
    this.child.stdin.write(`${JSON.stringify(request)}\n`);
    const line = await new Promise<string>((resolve, reject) => {
      const queued = this.answers.shift();
      if (queued !== undefined) return resolve(queued);
      if (this.failed) return reject(this.failed);
      this.waiters.push({ resolve, reject });
    });
    const answer = JSON.parse(line) as Partial<ReferenceAnswer> & { error?: string };
    if (answer.error || typeof answer.samplesPerSec !== 'number') throw new Error(`the PyTorch reference failed on ${family}: ${answer.error ?? line}`);
    referenceBlas = answer.blas ?? referenceBlas;
    if (answer.blas && answer.blas.kind !== 'openblas' && !warnedBlas) {
      warnedBlas = true;
      log(`warning: the PyTorch reference loaded ${answer.blas.kind} BLAS (${answer.blas.library}), not OpenBLAS: it is not the best PyTorch can be here (apt-get install -y libopenblas0-pthread)`);
    }
    return { ...answer, samplesPerSec: answer.samplesPerSec, torch: answer.torch ?? '?' };
  }

  close(): void {
    this.child.stdin.end();
  }
}

/** kdsearch's training step timed in the pool's one worker, as a trial runs. */
async function runOneWorker(p: Piscina, backend: EngineTask['backend'], family: string, measureSeconds = seconds): Promise<ThroughputResult & { backend: string }> {
  const task: EngineTask = { family, backend, steps, seconds: measureSeconds, warmup, warmupSeconds, batchSize };
  return (await p.run(task)) as ThroughputResult & { backend: string };
}

async function ratioPart(backend: EngineTask['backend']): Promise<Record<string, unknown>> {
  const single = pool(1);
  let reference: Reference | undefined;
  let torch = 'not run';
  let blas: BlasInfo | undefined;
  let unavailable: string | undefined;
  if (!skipReference) reference = new Reference();
  const ours: Record<string, number[]> = {};
  const theirs: Record<string, number[]> = {};
  let usedBackend = backend as string;
  try {
    // Round -1 warms both sides up (threads, JIT, wasm tier-up) and is not recorded.
    for (let r = -1; r < rounds; r++) {
      const roundSeconds = r < 0 ? WARMUP_ROUND_SECONDS : seconds;
      for (const family of families) {
        const measureOurs = async () => {
          const result = await runOneWorker(single, backend, family, roundSeconds);
          usedBackend = result.backend;
          if (r >= 0) (ours[family] ??= []).push(result.samplesPerSec);
        };
        const measureTheirs = async () => {
          if (!reference || unavailable) return;
          try {
            const answer = await reference.measure(family, { seconds: roundSeconds });
            torch = answer.torch;
            blas = answer.blas;
            if (r >= 0) (theirs[family] ??= []).push(answer.samplesPerSec);
          } catch (err) {
            unavailable = (err as Error).message;
          }
        };
        if (r % 2 === 0) {
          await measureOurs();
          await measureTheirs();
        } else {
          await measureTheirs();
          await measureOurs();
        }
      }
      log(r < 0 ? 'ratio warm-up round done' : `ratio round ${r + 1}/${rounds} done`);
    }
  } finally {
    reference?.close();
    await single.destroy();
  }
  const perFamily = Object.fromEntries(
    families.map((family) => {
      const k = ours[family];
      const t = theirs[family];
      const entry: Record<string, unknown> = { kdsearch: { samplesPerSec: round1(median(k)), runs: k.map(round1) } };
      if (t?.length === k.length) {
        entry.pytorch = { samplesPerSec: round1(median(t)), runs: t.map(round1) };
        entry.ratio = round3(median(k) / median(t));
        entry.ratioPerRound = { median: round3(median(k.map((v, i) => v / t[i]))), runs: k.map((v, i) => round3(v / t[i])) };
      }
      return [family, entry];
    }),
  );
  return { backend: usedBackend, torch, ...(blas ? { blas } : {}), ...(unavailable ? { referenceUnavailable: unavailable } : {}), families: perFamily };
}

type Side = 'kdsearch' | 'pytorchProcesses';
interface Phase {
  side: Side;
  count: number;
}

/**
 * One cycle: every (side, count) once, then in reverse (kd 1, kd 2, torch 1,
 * torch 2, torch 2, torch 1, kd 2, kd 1): a drift in the machine's load
 * cancels within a cycle, and both sides see the same minutes.
 */
function cyclePhases(sides: Side[]): Phase[] {
  const forward = sides.flatMap((side) => workerCounts.map((count) => ({ side, count })));
  return [...forward, ...[...forward].reverse()];
}

interface Trainer {
  side: Side;
  index: number;
  phaseSteps?: number[];
  /** When its warm-up ended (ms since the epoch). */
  readyAtMs: number;
}

/**
 * Aggregate samples/s of each side and count in each cycle, from every
 * trainer's steps per phase; throws when a trainer was still warming up at
 * the start, since its first phases would then be short.
 */
function perCycle(cycle: Phase[], cycleCount: number, trainers: Trainer[], startAtMs: number): Record<Side, Record<number, number[]>> {
  const late = trainers.find((t) => !(t.readyAtMs <= startAtMs));
  if (late) throw new Error(`${late.side} trainer ${late.index} finished warming up ${Math.round(late.readyAtMs - startAtMs)} ms after the schedule began: lower --warmup-seconds`);
  const out = { kdsearch: {}, pytorchProcesses: {} } as Record<Side, Record<number, number[]>>;
  for (let c = 0; c < cycleCount; c++) {
    for (const { side, count } of cycle.slice(0, cycle.length / 2)) {
      let samples = 0;
      let phases = 0;
      cycle.forEach((phase, i) => {
        if (phase.side !== side || phase.count !== count) return;
        phases++;
        for (const t of trainers) if (t.side === side) samples += (t.phaseSteps?.[c * cycle.length + i] ?? 0) * batchSize;
      });
      ((out[side][count] ??= [])).push(samples / (phases * (phaseSeconds - pauseMs / 1000)));
    }
  }
  return out;
}

/** Per worker count: median over cycles, and scaling against the first count (ratio of medians, and median of per-cycle ratios). */
function scalingTable(byCount: Record<number, number[]>): Record<string, unknown> {
  const baseRuns = byCount[workerCounts[0]];
  return Object.fromEntries(
    workerCounts.map((n) => [
      `${n}`,
      {
        samplesPerSec: round1(median(byCount[n])),
        perCycle: byCount[n].map(round1),
        scaling: round3(median(byCount[n]) / median(baseRuns)),
        scalingPerCycle: { median: round3(median(byCount[n].map((v, i) => v / baseRuns[i]))), runs: byCount[n].map((v, i) => round3(v / baseRuns[i])) },
      },
    ]),
  );
}

/**
 * The first of the trainers a phase uses (fewer than all of them step from
 * there on, wrapping round): it moves on every half cycle, so each trainer is
 * the lone one equally often. Were it always trainer 0, trainer 0 would step
 * twice as often as trainer 1 and the JIT would finish optimizing its code
 * sooner (V8's --trace-opt: the second worker's functions were still being
 * optimized, on V8's background threads, in the 2-worker phases of later
 * rounds); the 1-worker phases would measure the warmest isolate alone and
 * the 2-worker phases a warm one beside a cooler one.
 */
function firstTrainer(phaseIndex: number, cycleLength: number, trainers: number): number {
  const halfCycles = Math.floor(phaseIndex / (cycleLength / 2));
  return halfCycles % trainers;
}

function isActive(index: number, count: number, first: number, trainers: number): boolean {
  return (index - first + trainers) % trainers < count;
}

/**
 * 1 against N trainers of the same family, in interleaved phases of one
 * schedule: N Piscina workers and N PyTorch processes of 1 thread (the
 * machine's own ceiling) each build and warm up the model, then step only in
 * the phases of their side that use them (firstTrainer).
 */
async function workersPart(backend: EngineTask['backend']): Promise<Record<string, unknown>> {
  const most = Math.max(...workerCounts);
  const workers = pool(most);
  const references = skipReference ? [] : Array.from({ length: most }, () => new Reference());
  const result: Record<string, unknown> = {};
  try {
    for (const family of families) {
      const measure = async (cycleCount: number, sides: Side[]) => {
        const cycle = cyclePhases(sides);
        const phases = Array.from({ length: cycleCount }, () => cycle).flat();
        const startAtMs = Date.now() + warmupSeconds * 1000 + SCHEDULE_SETUP_MS;
        const schedule = (side: Side, index: number): PhaseSchedule => ({
          startAtMs,
          phaseMs: phaseSeconds * 1000,
          pauseMs,
          active: phases.map((phase, p) => phase.side === side && isActive(index, phase.count, firstTrainer(p, cycle.length, most), most)),
        });
        const ours = Array.from({ length: most }, (_, index) =>
          (workers.run({ family, backend, steps, seconds, warmup, warmupSeconds, batchSize, schedule: schedule('kdsearch', index) } satisfies EngineTask) as Promise<ThroughputResult>).then(
            (r): Trainer => ({ side: 'kdsearch', index, phaseSteps: r.phaseSteps, readyAtMs: r.startMs }),
          ),
        );
        const theirs = sides.includes('pytorchProcesses')
          ? references.map((ref, index) =>
              ref.measure(family, { schedule: schedule('pytorchProcesses', index) }).then((a): Trainer => ({ side: 'pytorchProcesses', index, phaseSteps: a.phaseSteps, readyAtMs: a.readyAtMs ?? Number.NaN })),
            )
          : [];
        return { cycle, startAtMs, trainers: await Promise.all([...ours, ...theirs]) };
      };
      await measure(1, ['kdsearch']); // unrecorded (it may start late): the pool's first backend load and JIT tier-up
      const sides: Side[] = references.length > 0 ? ['kdsearch', 'pytorchProcesses'] : ['kdsearch'];
      const { cycle, startAtMs, trainers } = await measure(cycles, sides);
      const bySide = perCycle(cycle, cycles, trainers, startAtMs);
      result[family] = Object.fromEntries(sides.map((side) => [side, scalingTable(bySide[side])]));
      log(`workers: ${family} done`);
    }
  } finally {
    for (const ref of references) ref.close();
    await workers.destroy();
  }
  return result;
}

/** Throws as ratioPart would when the backend does not load, without measuring. */
async function probeBackend(backend: EngineTask['backend']): Promise<void> {
  const single = pool(1);
  try {
    await runOneWorker(single, backend, families[0], 0);
  } finally {
    await single.destroy();
  }
}

async function main() {
  const result: Record<string, unknown> = {
    command: `npm run bench:engine -- ${process.argv.slice(2).join(' ')}`.trim(),
    cores: availableParallelism(),
    node: process.version,
    batchSize,
    seconds,
    minSteps: steps,
    warmup,
    warmupSeconds,
    rounds,
    cycles,
    phaseSeconds,
    pauseMs,
  };
  // Each backend against the same-run reference; a backend that does not load
  // (tfjs-node without its libtensorflow) is reported, not fatal.
  const ratio: Record<string, unknown> = {};
  const available: EngineTask['backend'][] = [];
  for (const backend of backends) {
    try {
      if (skipRatio) {
        await probeBackend(backend);
        available.push(backend);
        continue;
      }
      ratio[backend] = await ratioPart(backend);
      available.push(backend);
    } catch (err) {
      const message = (err as Error).message;
      if (!/BACKEND_UNAVAILABLE|is not available/.test(message)) throw err;
      ratio[backend] = { unavailable: message.split('\n').map((l) => l.trim()).join(' ') };
    }
  }
  result.ratio = ratio;
  if (!skipWorkers && available.length > 0) result.workers = { backend: available[0], families: await workersPart(available[0]) };
  result.pytorchBlas = referenceBlas ?? (skipReference ? 'not run' : 'unknown');
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:engine failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
