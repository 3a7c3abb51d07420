import { Job, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { epochRecordSchema } from '../core/epoch';
import type { EpochRecord } from '../core/epoch';
import type { KdError } from '../core/errors';
import type { Log } from '../core/log';
import { parseOutcome } from '../core/outcome';
import type { TrialOutcome } from '../core/outcome';
import type { RunHooks, TrialExecutor } from './executor';
import { publishData } from './queue-data';
import { QUEUE_PROTOCOL, fromWire, jobId, toWire } from './queue-job';
import type { DataRef, QueueJob } from './queue-job';
import { REGISTRY_KEY, WORKER_KEY_PATTERN, connectRedis, queueInfoKey, servingPattern, unreachable, within } from './queue-redis';
import type { QueueUrl } from './queue-url';
import { redisOptions } from './queue-url';
import type { SharedData, TrialTask } from './task';
import { candidateHash, candidateSchema } from '../space/candidate';

export interface QueueExecutorOptions {
  url: QueueUrl;
  /** The experiment's queue (queue-url.ts queueName). */
  queue: string;
  experiment: string;
  /** Trials in flight; default: the slots of the workers attached to Redis (at least 1). */
  concurrency?: number;
  timeLimitSec?: number;
  /** Called once when Redis has not answered for `lostAfterMs`: the search stops with this error. */
  onLost: (err: KdError) => void;
  lostAfterMs?: number;
  log: Log;
}

const PROBE_MS = 2000;
/** How long a finished experiment waits for live workers to let go of its queue (they look every 2 s; a dead one's mark expires in 15 s). */
const RELEASE_WAIT_MS = 6000;

/**
 * The distributed executor (DESIGN.md rule 6): each trial leg is a BullMQ
 * job whose id is derived from (trial, first epoch), so enqueueing it again
 * after a crash finds the same job, running or finished. Epochs arrive as
 * job progress; the result stays in Redis until the search loop has stored
 * it (acknowledge), so a coordinator killed in between loses nothing.
 */
export class QueueExecutor implements TrialExecutor {
  private readonly listeners = new Map<string, (r: EpochRecord) => void>();
  private readonly published = new WeakMap<SharedData, Promise<DataRef>>();
  private workerSlots = 0;
  private lastAnswer = Date.now();
  private lostError?: KdError;
  private readonly lost: Promise<void>;
  private markLost!: () => void;
  private readonly probe: NodeJS.Timeout;

  private constructor(
    private readonly opts: QueueExecutorOptions,
    private readonly redis: Redis,
    private readonly lastError: () => string,
    private readonly queue: Queue,
    private readonly events: QueueEvents,
  ) {
    this.lost = new Promise((resolve) => (this.markLost = resolve));
    events.on('progress', ({ jobId: id, data }) => {
      const parsed = epochRecordSchema.safeParse(data);
      if (parsed.success) this.listeners.get(id)?.(parsed.data);
    });
    this.probe = setInterval(() => void this.check(), PROBE_MS);
    this.probe.unref();
  }

  /** Connects to Redis (QUEUE_UNREACHABLE if it does not answer) and announces the queue to workers. */
  static async connect(opts: QueueExecutorOptions): Promise<QueueExecutor> {
    const { redis, lastError } = await connectRedis(opts.url, 'search');
    const connection = redisOptions(opts.url);
    const queue = new Queue(opts.queue, { connection });
    const events = new QueueEvents(opts.queue, { connection });
    // Redis errors surface through the probe, once
    queue.on('error', () => {});
    events.on('error', () => {});
    try {
      await within(Promise.all([queue.waitUntilReady(), events.waitUntilReady()]), 5000, 'no answer within 5 s');
      await redis.set(queueInfoKey(opts.queue), JSON.stringify({ protocol: QUEUE_PROTOCOL, experiment: opts.experiment }));
      await redis.sadd(REGISTRY_KEY, opts.queue);
    } catch (err) {
      await Promise.allSettled([queue.close(), events.close()]);
      redis.disconnect();
      throw unreachable(opts.url, 'search', lastError() || (err as Error).message);
    }
    const executor = new QueueExecutor(opts, redis, lastError, queue, events);
    await executor.countWorkerSlots();
    return executor;
  }

  get concurrency(): number {
    return this.opts.concurrency ?? Math.max(1, this.workerSlots);
  }

  private async countWorkerSlots(): Promise<void> {
    const keys = await this.redis.keys(WORKER_KEY_PATTERN);
    const values = keys.length ? await this.redis.mget(keys) : [];
    this.workerSlots = values.reduce((a, v) => a + (Number(v) || 0), 0);
  }

  private async check(): Promise<void> {
    if (this.lostError) return;
    try {
      await within(this.redis.ping(), PROBE_MS, 'no answer');
      this.lastAnswer = Date.now();
      await this.countWorkerSlots();
    } catch {
      if (Date.now() - this.lastAnswer < (this.opts.lostAfterMs ?? 10_000)) return;
      this.lostError = unreachable(this.opts.url, 'search', `no answer for ${Math.round((Date.now() - this.lastAnswer) / 1000)} s (${this.lastError() || 'connection lost'})`);
      // the search stops first, so the trials this interrupts are requeued, not failed
      this.opts.onLost(this.lostError);
      this.markLost();
    }
  }

  private dataRef(data: SharedData): Promise<DataRef> {
    let ref = this.published.get(data);
    if (!ref) {
      ref = publishData(this.redis, data).then((r) => {
        this.opts.log(`queue: the data (${(r.bytes / 1e6).toFixed(1)} MB, ${(r.sent / 1e6).toFixed(1)} MB deflated) is in Redis as ${r.sha256.slice(0, 12)}…`);
        return { sha256: r.sha256, bytes: r.bytes };
      });
      this.published.set(data, ref);
    }
    return ref;
  }

  async run(task: TrialTask, hooks: RunHooks): Promise<TrialOutcome> {
    const started = performance.now();
    const id = jobIdOf(task);
    const stopped = new Promise<'stopped'>((resolve) => hooks.signal.addEventListener('abort', () => resolve('stopped'), { once: true }));
    const lost = this.lost.then(() => 'lost' as const);
    const interrupted = (why: string): TrialOutcome => ({ ok: false, code: 'INTERRUPTED', message: why, seconds: (performance.now() - started) / 1000 });
    this.listeners.set(id, hooks.onEpoch);
    try {
      const { data, ...rest } = task;
      const job: QueueJob = { protocol: QUEUE_PROTOCOL, experiment: this.opts.experiment, trialNumber: task.trialNumber, data: await this.dataRef(data), task: toWire(rest) as Record<string, unknown>, timeLimitSec: this.opts.timeLimitSec };
      const added = await Promise.race([this.queue.add('trial', job, { jobId: id, attempts: 1, removeOnComplete: false, removeOnFail: false }), stopped, lost]);
      if (added === 'stopped' || added === 'lost') return interrupted(`the search was ${added === 'lost' ? 'cut off from Redis' : 'stopped'}`);
      const finished = added.waitUntilFinished(this.events).then(
        (value: unknown) => ({ value }),
        (err: Error) => ({ error: err.message }),
      );
      const result = await Promise.race([finished, stopped, lost]);
      if (result === 'stopped' || result === 'lost') return interrupted(`the search was ${result === 'lost' ? 'cut off from Redis' : 'stopped'}; the job ${id} stays queued for a resume`);
      if ('error' in result) return jobFailure(result.error, (performance.now() - started) / 1000);
      return parseOutcome(fromWire(result.value));
    } finally {
      this.listeners.delete(id);
    }
  }

  /** The search loop stored this leg's outcome: its job and result leave Redis. */
  async acknowledge(task: TrialTask): Promise<void> {
    if (this.lostError) return;
    try {
      const job = await Job.fromId(this.queue, jobIdOf(task));
      await job?.remove();
    } catch (err) {
      // the outcome is stored; a finished job left in Redis is removed with the queue when the experiment finishes
      this.opts.log(`queue: could not remove the finished job of trial ${task.trialNumber} (${(err as Error).message}); it goes with the queue`);
    }
  }

  /**
   * The experiment finished: its queue leaves the workers' list, then Redis.
   * In that order, and after the workers have let go of it (they look every
   * 2 s): a worker still serving it would write its queue's keys again.
   */
  async finish(): Promise<void> {
    await this.redis.srem(REGISTRY_KEY, this.opts.queue);
    await this.redis.del(queueInfoKey(this.opts.queue));
    const until = Date.now() + RELEASE_WAIT_MS;
    while (Date.now() < until && (await this.redis.keys(servingPattern(this.opts.queue))).length > 0) await new Promise((r) => setTimeout(r, 200));
    await this.queue.obliterate({ force: true });
  }

  async close(): Promise<void> {
    clearInterval(this.probe);
    if (this.lostError) {
      // nothing to say to a Redis that is gone: close without waiting for it
      this.redis.disconnect();
      await Promise.allSettled([within(this.queue.close(), 1000, 'close'), within(this.events.close(), 1000, 'close')]);
      return;
    }
    await Promise.allSettled([this.queue.close(), this.events.close()]);
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/** The job of a task: the trial and the epoch its leg starts from, or the candidate a pre-screen scores (by the hash the trial stores for it). */
function jobIdOf(task: TrialTask): string {
  return jobId(task.trialNumber, task.screen ? { screenOf: candidateHash(candidateSchema.parse(task.candidate)) } : { fromEpoch: task.fidelity?.resume?.epoch ?? 0 });
}

/** A job BullMQ failed (its worker died too often, or it was refused): the trial's coded failure. */
function jobFailure(reason: string, seconds: number): TrialOutcome {
  if (/stalled/i.test(reason)) return { ok: false, code: 'TRIAL_WORKER_LOST', message: `the trial's worker stopped answering too many times (${reason})`, seconds };
  return { ok: false, code: 'TRIAL_CRASHED', message: `the queue job failed: ${reason}`, seconds };
}

