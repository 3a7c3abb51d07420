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
 * Part 2, scaling: N workers train the same family at once (started together
 * after warm-up); aggregate samples/s = all samples / the wall time that
 * spans them. Reports the median per N and the ratio to 1 worker; and the
 * same for N PyTorch processes of 1 thread, the machine's own ceiling.
 *
 *   npm run bench:engine -- [--families mlp,small-cnn,separable-cnn] [--rounds 5]
 *     [--seconds 4] [--steps 20] [--warmup 10] [--warmup-seconds 2] [--batch 64] [--backends wasm,node] [--workers 1,2]
 *     [--young 0] [--python /usr/bin/python3] [--skip-reference] [--skip-workers]
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

const families = flag('families', Object.keys(FAMILY_FILES).join(',')).split(',');
const rounds = Number(flag('rounds', '5'));
const steps = Number(flag('steps', '20'));
const seconds = Number(flag('seconds', '4'));
/** The unrecorded first round: long enough to tier up, short enough not to matter. */
const WARMUP_ROUND_SECONDS = 1;
const warmup = Number(flag('warmup', '10'));
const warmupSeconds = Number(flag('warmup-seconds', '2'));
const batchSize = Number(flag('batch', '64'));
const backends = flag('backends', 'wasm,node').split(',') as EngineTask['backend'][];
const workerCounts = flag('workers', '1,2').split(',').map(Number);
const youngGenerationMb = Number(flag('young', '0'));
const python = flag('python', '/usr/bin/python3');
const skipReference = process.argv.includes('--skip-reference');
const skipWorkers = process.argv.includes('--skip-workers');
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
    resourceLimits: workerResourceLimits({ youngGenerationMb }),
  });
}

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

  async measure(family: string, measureSeconds = seconds): Promise<{ samplesPerSec: number; torch: string }> {
    if (this.failed) throw this.failed;
    const request = { spec: familySpec(family), steps, seconds: measureSeconds, warmup, warmupSeconds, batch: batchSize, temperature: 4, alpha: 0.7, rows: 2048 };
    this.child.stdin.write(`${JSON.stringify(request)}\n`);
    const line = await new Promise<string>((resolve, reject) => {
      const queued = this.answers.shift();
      if (queued !== undefined) return resolve(queued);
      if (this.failed) return reject(this.failed);
      this.waiters.push({ resolve, reject });
    });
    const answer = JSON.parse(line) as { samplesPerSec?: number; torch?: string; error?: string };
    if (answer.error || typeof answer.samplesPerSec !== 'number') throw new Error(`the PyTorch reference failed on ${family}: ${answer.error ?? line}`);
    return { samplesPerSec: answer.samplesPerSec, torch: answer.torch ?? '?' };
  }

  close(): void {
    this.child.stdin.end();
  }
}

async function runWorkers(
  p: Piscina,
  backend: EngineTask['backend'],
  family: string,
  threads: number,
  measureSeconds = seconds,
): Promise<{ aggregate: number; perWorker: number[]; backend: string }> {
  const barrier = new SharedArrayBuffer(4);
  new Int32Array(barrier)[0] = threads;
  const task: EngineTask = { family, backend, steps, seconds: measureSeconds, warmup, warmupSeconds, batchSize, barrier };
  const results = await Promise.all(
    Array.from({ length: threads }, () => p.run(task) as Promise<{ samplesPerSec: number; steps: number; startMs: number; endMs: number; backend: string }>),
  );
  const span = Math.max(...results.map((r) => r.endMs)) - Math.min(...results.map((r) => r.startMs));
  const samples = results.reduce((sum, r) => sum + r.steps * batchSize, 0);
  return { aggregate: (samples * 1000) / span, perWorker: results.map((r) => r.samplesPerSec), backend: results[0].backend };
}

async function ratioPart(backend: EngineTask['backend']): Promise<Record<string, unknown>> {
  const single = pool(1);
  let reference: Reference | undefined;
  let torch = 'not run';
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
          const result = await runWorkers(single, backend, family, 1, roundSeconds);
          usedBackend = result.backend;
          if (r >= 0) (ours[family] ??= []).push(result.aggregate);
        };
        const measureTheirs = async () => {
          if (!reference || unavailable) return;
          try {
            const answer = await reference.measure(family, roundSeconds);
            torch = answer.torch;
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
  return { backend: usedBackend, torch, ...(unavailable ? { referenceUnavailable: unavailable } : {}), families: perFamily };
}

/** Per worker count: median, runs, and scaling against the first count (ratio of medians, and median of back-to-back ratios). */
function scalingTable(byCount: Record<number, number[]>): Record<string, unknown> {
  const baseRuns = byCount[workerCounts[0]];
  return Object.fromEntries(
    workerCounts.map((n) => [
      `${n}`,
      {
        samplesPerSec: round1(median(byCount[n])),
        runs: byCount[n].map(round1),
        scaling: round3(median(byCount[n]) / median(baseRuns)),
        scalingPerRound: { median: round3(median(byCount[n].map((v, i) => v / baseRuns[i]))), runs: byCount[n].map((v, i) => round3(v / baseRuns[i])) },
      },
    ]),
  );
}

/**
 * The same family on 1..N Piscina workers, and, as the machine's own
 * ceiling measured in the same run, on 1..N PyTorch processes of 1 thread.
 */
async function workersPart(backend: EngineTask['backend']): Promise<Record<string, unknown>> {
  const pools = new Map(workerCounts.map((n) => [n, pool(n)]));
  const references = skipReference ? [] : Array.from({ length: Math.max(...workerCounts) }, () => new Reference());
  let referenceUnavailable: string | undefined;
  const ours: Record<string, Record<number, number[]>> = {};
  const theirs: Record<string, Record<number, number[]>> = {};
  try {
    for (let r = -1; r < rounds; r++) {
      const roundSeconds = r < 0 ? WARMUP_ROUND_SECONDS : seconds;
      // alternate the order of pool sizes between rounds, like the ratio part
      const order = r % 2 === 0 ? workerCounts : [...workerCounts].reverse();
      for (const family of families) {
        for (const n of order) {
          const { aggregate } = await runWorkers(pools.get(n)!, backend, family, n, roundSeconds);
          if (r >= 0) ((ours[family] ??= {})[n] ??= []).push(aggregate);
        }
        if (references.length === 0 || referenceUnavailable) continue;
        for (const n of order) {
          try {
            const answers = await Promise.all(references.slice(0, n).map((ref) => ref.measure(family, roundSeconds)));
            if (r >= 0) ((theirs[family] ??= {})[n] ??= []).push(answers.reduce((sum, a) => sum + a.samplesPerSec, 0));
          } catch (err) {
            referenceUnavailable = (err as Error).message;
          }
        }
      }
      log(r < 0 ? 'workers warm-up round done' : `workers round ${r + 1}/${rounds} done`);
    }
  } finally {
    for (const ref of references) ref.close();
    await Promise.all([...pools.values()].map((p) => p.destroy()));
  }
  return Object.fromEntries(
    families.map((family) => {
      const entry: Record<string, unknown> = { kdsearch: scalingTable(ours[family]) };
      if (theirs[family] && !referenceUnavailable) entry.pytorchProcesses = scalingTable(theirs[family]);
      return [family, entry];
    }),
  );
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
    youngGenerationMb,
  };
  // Each backend against the same-run reference; a backend that does not load
  // (tfjs-node without its libtensorflow) is reported, not fatal.
  const ratio: Record<string, unknown> = {};
  const available: EngineTask['backend'][] = [];
  for (const backend of backends) {
    try {
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
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:engine failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
