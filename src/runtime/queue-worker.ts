import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'bullmq';
import type { Job } from 'bullmq';
import { z } from 'zod';
import { errorCodeOf } from '../core/errors';
import type { Log } from '../core/log';
import type { TrialOutcome } from '../core/outcome';
import { OWNER } from './owner';
import { PiscinaExecutor } from './piscina-executor';
import { fetchData } from './queue-data';
import { QUEUE_PROTOCOL, fromWire, queueJobSchema, refusal, toWire } from './queue-job';
import type { DataRef } from './queue-job';
import { REGISTRY_KEY, connectRedis, queueInfoKey, servingKey, unreachable, within, workerKey } from './queue-redis';
import type { QueueUrl } from './queue-url';
import { redisOptions } from './queue-url';
import type { SharedData } from './task';

export interface QueueWorkerOptions {
  url: QueueUrl;
  /** Trials at once (worker threads); default: the machine's cores. */
  workers?: number;
  dataDir: string;
  memoryLimitMb?: number;
  /** A job whose worker stops renewing its lock for this long is given to another worker (BullMQ's stalled check). */
  stallTimeoutSec?: number;
  signal: AbortSignal;
  log: Log;
}

/** Where this host's worker processes (of this user) meet for the quiet gate (core/host-gate.ts). */
export function hostGateDir(): string {
  return join(tmpdir(), `kdsearch-quiet-${process.getuid?.() ?? 'user'}`);
}

/** A job taken again after this many stalls fails (TRIAL_WORKER_LOST on the coordinator). */
export const MAX_STALLS = 2;
const queueInfoSchema = z.object({ protocol: z.string(), experiment: z.string() });

/** Slots shared by every queue this process serves: never more trials at once than worker threads. */
class Slots {
  private waiters: Array<() => void> = [];
  constructor(private free: number) {}
  async take(): Promise<() => void> {
    if (this.free > 0) this.free -= 1;
    else await new Promise<void>((resolve) => this.waiters.push(resolve));
    return () => {
      const next = this.waiters.shift();
      if (next) next();
      else this.free += 1;
    };
  }
}

/**
 * `kdsearch worker`: serves every experiment queue announced in Redis
 * whose protocol is this worker's, running each job in the local Piscina
 * pool exactly as a local search does. Runs until the signal aborts, or
 * throws QUEUE_UNREACHABLE when Redis stops answering.
 */
export async function serveQueues(opts: QueueWorkerOptions): Promise<{ trials: number }> {
  const { redis, lastError } = await connectRedis(opts.url, 'worker');
  const concurrency = opts.workers ?? availableParallelism();
  // latency stays quiet against the other worker processes of this host too
  const pool = new PiscinaExecutor({ workers: concurrency, memoryLimitMb: opts.memoryLimitMb, hostGateDir: hostGateDir() });
  const slots = new Slots(concurrency);
  const served = new Map<string, Worker>();
  const skipped = new Set<string>();
  const data = new Map<string, Promise<SharedData>>();
  const cacheDir = join(opts.dataDir, 'queue-cache');
  let trials = 0;

  const dataOf = (ref: DataRef): Promise<SharedData> => {
    let d = data.get(ref.sha256);
    if (!d) {
      d = fetchData(redis, ref, cacheDir).then((r) => {
        opts.log(`data ${ref.sha256.slice(0, 12)}…: ${r.fetched ? 'fetched from Redis' : 'read from the cache'} (${(ref.bytes / 1e6).toFixed(1)} MB), hash checked`);
        return r.data;
      });
      d.catch(() => data.delete(ref.sha256));
      data.set(ref.sha256, d);
    }
    return d;
  };

  const runJob = async (job: Job, experiment: string): Promise<unknown> => {
    const why = refusal(job.data);
    if (why) {
      opts.log(`refused job ${job.id} of ${experiment}: ${why}`);
      return toWire({ ok: false, code: 'QUEUE_JOB_REFUSED', message: `a worker (${OWNER}) refused the job: ${why}` } satisfies TrialOutcome);
    }
    const envelope = queueJobSchema.parse(job.data);
    const release = await slots.take();
    const started = performance.now();
    try {
      let shared: SharedData;
      try {
        shared = await dataOf(envelope.data);
      } catch (err) {
        return toWire({ ok: false, code: errorCodeOf(err) ?? 'QUEUE_DATA_MISSING', message: (err as Error).message } satisfies TrialOutcome);
      }
      opts.log(`${experiment}: trial ${envelope.trialNumber} (job ${job.id}) starts`);
      const abort = new AbortController();
      let timedOut = false;
      const timer = envelope.timeLimitSec
        ? setTimeout(() => {
            timedOut = true;
            abort.abort();
          }, envelope.timeLimitSec * 1000)
        : undefined;
      const onStop = () => abort.abort();
      opts.signal.addEventListener('abort', onStop, { once: true });
      let outcome: TrialOutcome;
      try {
        outcome = await pool.run({ ...(fromWire(envelope.task) as object), data: shared } as never, {
          signal: abort.signal,
          onEpoch: (record) => void job.updateProgress(record).catch(() => {}),
        });
      } finally {
        clearTimeout(timer);
        opts.signal.removeEventListener('abort', onStop);
      }
      if (opts.signal.aborted) throw new Error('the worker was stopped'); // the job stalls and runs elsewhere
      if (timedOut) outcome = { ok: false, code: 'TRIAL_TIMEOUT', message: `the trial exceeded its time limit of ${envelope.timeLimitSec} s and was stopped`, seconds: (performance.now() - started) / 1000 };
      trials += 1;
      opts.log(`${experiment}: trial ${envelope.trialNumber} ${outcomeWords(outcome)} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      return toWire(outcome);
    } finally {
      release();
    }
  };

  const refresh = async () => {
    await redis.set(workerKey(OWNER), String(concurrency), 'EX', 15);
    const queues = new Set(await redis.smembers(REGISTRY_KEY));
    for (const [name, worker] of served) {
      if (!queues.has(name)) {
        served.delete(name);
        await worker.close();
        await redis.del(servingKey(name, OWNER));
      } else await redis.set(servingKey(name, OWNER), '1', 'EX', 15);
    }
    for (const name of queues) {
      if (served.has(name) || skipped.has(name)) continue;
      const info = queueInfoSchema.safeParse(JSON.parse((await redis.get(queueInfoKey(name))) ?? 'null'));
      if (!info.success) continue;
      if (info.data.protocol !== QUEUE_PROTOCOL) {
        skipped.add(name);
        opts.log(`not serving experiment "${info.data.experiment}": its coordinator is ${info.data.protocol}, this worker is ${QUEUE_PROTOCOL}`);
        continue;
      }
      const lockDuration = (opts.stallTimeoutSec ?? 30) * 1000;
      const worker = new Worker(name, (job) => runJob(job, info.data.experiment), {
        connection: redisOptions(opts.url),
        concurrency,
        lockDuration,
        stalledInterval: lockDuration,
        maxStalledCount: MAX_STALLS,
      });
      worker.on('error', () => {}); // Redis errors surface through refresh, once
      served.set(name, worker);
      await redis.set(servingKey(name, OWNER), '1', 'EX', 15);
      opts.log(`serving experiment "${info.data.experiment}" (queue ${name})`);
    }
  };

  let lastAnswer = Date.now();
  try {
    await refresh();
    opts.log(`worker ${OWNER}: ${concurrency} trials at once, on ${opts.url.shown}; data cached in ${cacheDir}`);
    const stopped = new Promise<void>((resolve) => opts.signal.addEventListener('abort', () => resolve(), { once: true }));
    while (!opts.signal.aborted) {
      await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, 2000))]);
      if (opts.signal.aborted) break;
      try {
        await within(refresh(), 2000, 'no answer');
        lastAnswer = Date.now();
      } catch (err) {
        if (Date.now() - lastAnswer > 10_000) throw unreachable(opts.url, 'worker', `no answer for ${Math.round((Date.now() - lastAnswer) / 1000)} s (${lastError() || (err as Error).message})`);
      }
    }
    return { trials };
  } finally {
    // force: a running job is left to stall and run on another worker
    await Promise.allSettled([...served.values()].map((w) => within(w.close(true), 3000, 'close')));
    await Promise.allSettled([within(redis.del(workerKey(OWNER), ...[...served.keys()].map((name) => servingKey(name, OWNER))), 1000, 'close')]);
    redis.disconnect();
    await pool.close();
  }
}

/** How a job ended, in the worker's log. */
function outcomeWords(outcome: TrialOutcome): string {
  if (!outcome.ok) return `failed (${outcome.code})`;
  if ('screened' in outcome) return `pre-screened (${(outcome.accuracy * 100).toFixed(1)}%)`;
  return outcome.paused ? `paused at epoch ${outcome.epoch}` : 'complete';
}
