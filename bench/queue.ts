/**
 * bench:queue: the distributed executor on this machine. A real
 * redis-server on a free loopback port; the same quick-space search
 * (random controller, one seed, so every run trains the same students) with
 * 1 and then 2 `kdsearch worker` processes of one thread each: trials per
 * minute and their ratio. The coordinator talks to Redis through a counting
 * TCP proxy (round trips = request writes it sends, bytes both ways) and
 * reports its CPU time; a short and a long run give the per-trial cost
 * beside the set-up (teacher, logits, latency reference). Trials per
 * minute end to end, and in the steady state: trials finished between the
 * first trial's start and the last one's, while every worker had work.
 * The 1- and 2-worker runs repeat over rounds, alternating which goes
 * first; the ratio is each round's, and the median over rounds.
 *   npm run bench:queue -- [--space search-spaces/mnist-quick.yaml] [--trials 16] [--short 4] [--rounds 2]
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flag, median } from './stats';
import { startRedis } from '../test/support/redis-server';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli.js');
const space = join(ROOT, flag('space', 'search-spaces/mnist-quick.yaml'));
const trials = Number(flag('trials', '16'));
const shortTrials = Number(flag('short', '4'));
const roundCount = Number(flag('rounds', '2'));
const dataDir = join(ROOT, 'data'); // the built-in teacher and logits are reused from npm start's cache
const log = (s: string) => process.stderr.write(`${s}\n`);

/** A TCP proxy to Redis that counts what the coordinator sends (each write is one round trip's request) and receives. */
async function countingProxy(target: number): Promise<{ port: number; counts: { writes: number; sent: number; received: number }; server: Server }> {
  const counts = { writes: 0, sent: 0, received: 0 };
  const server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    client.on('data', (d) => {
      counts.writes += 1;
      counts.sent += d.length;
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      counts.received += d.length;
      client.write(d);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, counts, server };
}

function run(args: string[], env: Record<string, string> = {}): { child: ChildProcess; exited: Promise<number | null>; lines: Array<{ at: number; line: string }> } {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  const lines: Array<{ at: number; line: string }> = [];
  let rest = '';
  child.stderr!.on('data', (d: Buffer) => {
    const parts = (rest + d.toString()).split('\n');
    rest = parts.pop()!;
    for (const line of parts) lines.push({ at: performance.now(), line });
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, lines };
}

async function searchWith(opts: { workers: number; trials: number; redisPort: number; tag: string }) {
  const dir = mkdtempSync(join(tmpdir(), 'kdsearch-bench-queue-'));
  const proxy = await countingProxy(opts.redisPort);
  const workers = Array.from({ length: opts.workers }, (_, i) =>
    run([CLI, 'worker', '--queue', `redis://127.0.0.1:${opts.redisPort}`, '--workers', '1', '--data-dir', join(dir, `worker-${i}`)]),
  );
  const cpuFile = join(dir, 'cpu.json');
  const coordinator = run(
    ['-r', join(ROOT, 'bench', 'support', 'cpu-at-exit.js'), CLI, 'search', '--space', space, '--name', opts.tag, '--controller', 'random', '--seed', '0', '--trials', String(opts.trials), '--db', join(dir, 'q.db'), '--data-dir', dataDir, '--queue', `redis://127.0.0.1:${proxy.port}`],
    { BENCH_CPU_FILE: cpuFile },
  );
  const code = await coordinator.exited;
  const ended = performance.now();
  for (const w of workers) w.child.kill('SIGTERM');
  await Promise.all(workers.map((w) => w.exited));
  proxy.server.close();
  if (code !== 0) throw new Error(`the coordinator exited ${code}:\n${coordinator.lines.map((l) => l.line).join('\n')}`);
  // the search proper starts when the first job is sent (its data published): set-up before that is the same with any executor
  const first = coordinator.lines.find((l) => l.line.startsWith('queue: the data'));
  if (!first) throw new Error('no "queue: the data" line from the coordinator');
  const seconds = (ended - first.at) / 1000;
  const cpu = JSON.parse(readFileSync(cpuFile, 'utf8')) as { userMs: number; systemMs: number };
  rmSync(dir, { recursive: true, force: true });
  // steady state: from the first trial's start to the last trial's start every worker has work, so the
  // search's tail (the last long trial running alone) does not count against more workers
  const events = workers.flatMap((w) => w.lines).filter((l) => / trial \d+ (\(job .*\) starts|complete|paused|failed)/.test(l.line));
  const startsAt = events.filter((e) => e.line.endsWith('starts')).map((e) => e.at);
  const [from, to] = [Math.min(...startsAt), Math.max(...startsAt)];
  const doneInWindow = events.filter((e) => !e.line.endsWith('starts') && e.at >= from && e.at <= to).length;
  const steadyTrialsPerMinute = (doneInWindow / ((to - from) / 1000)) * 60;
  const result = { workers: opts.workers, trials: opts.trials, seconds, trialsPerMinute: (opts.trials / seconds) * 60, steady: { seconds: (to - from) / 1000, trials: doneInWindow, trialsPerMinute: steadyTrialsPerMinute }, coordinatorCpuMs: cpu.userMs + cpu.systemMs, redis: { ...proxy.counts } };
  log(`${opts.tag}: ${opts.trials} trials on ${opts.workers} worker process(es) in ${seconds.toFixed(1)} s (${result.trialsPerMinute.toFixed(1)}/min; ${result.steady.trialsPerMinute.toFixed(1)}/min while every worker had work); coordinator CPU ${(result.coordinatorCpuMs / 1000).toFixed(2)} s, ${proxy.counts.writes} writes to Redis`);
  return result;
}

async function main() {
  const redis = await startRedis();
  try {
    // once, so neither measured run pays for the teacher or its logits
    await searchWith({ workers: 1, trials: 1, redisPort: redis.port, tag: 'warm-up' });
    // rounds alternate which pool size goes first, so a change of the host's speed does not favour one; ratios are per round
    const rounds: Array<{ one: Awaited<ReturnType<typeof searchWith>>; two: Awaited<ReturnType<typeof searchWith>> }> = [];
    for (let r = 0; r < roundCount; r++) {
      const order = r % 2 === 0 ? [1, 2] : [2, 1];
      const got: Record<number, Awaited<ReturnType<typeof searchWith>>> = {};
      for (const w of order) got[w] = await searchWith({ workers: w, trials, redisPort: redis.port, tag: `round-${r}-${w === 1 ? 'one-worker' : 'two-workers'}` });
      rounds.push({ one: got[1], two: got[2] });
    }
    const { two } = rounds[rounds.length - 1];
    const short = await searchWith({ workers: 2, trials: shortTrials, redisPort: redis.port, tag: 'two-workers-short' });
    const extra = two.trials - short.trials;
    const perTrial = {
      coordinatorCpuMs: (two.coordinatorCpuMs - short.coordinatorCpuMs) / extra,
      redisWrites: (two.redis.writes - short.redis.writes) / extra,
      bytesSent: (two.redis.sent - short.redis.sent) / extra,
      bytesReceived: (two.redis.received - short.redis.received) / extra,
    };
    const trialSeconds = (two.seconds * 2) / two.trials; // one worker thread's time per trial
    console.log(
      JSON.stringify(
        {
          bench: 'queue',
          space: flag('space', 'search-spaces/mnist-quick.yaml'),
          cores: require('node:os').availableParallelism(),
          rounds,
          short,
          speedups: rounds.map((r) => r.two.trialsPerMinute / r.one.trialsPerMinute),
          steadySpeedups: rounds.map((r) => r.two.steady.trialsPerMinute / r.one.steady.trialsPerMinute),
          speedup: median(rounds.map((r) => r.two.trialsPerMinute / r.one.trialsPerMinute)),
          steadySpeedup: median(rounds.map((r) => r.two.steady.trialsPerMinute / r.one.steady.trialsPerMinute)),
          perTrial,
          trialSecondsPerWorkerThread: trialSeconds,
          // the coordinator is busy about perTrial.coordinatorCpuMs per trial: it keeps this many worker threads busy at best
          workersOneCoordinatorKeepsBusy: Math.floor((trialSeconds * 1000) / perTrial.coordinatorCpuMs),
        },
        null,
        1,
      ),
    );
  } finally {
    await redis.stop();
  }
}

void main().catch((err: unknown) => {
  log(String((err as Error).stack ?? err));
  process.exitCode = 1;
});
