import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import Piscina from 'piscina';
import type { RunHooks, TrialExecutor } from './executor';
import type { TrialTask } from './task';
import type { WorkerMessage } from './worker';
import type { EpochRecord } from '../core/epoch';
import type { TrialOutcome } from '../core/outcome';
import { parseOutcome } from '../core/outcome';
import type { HostGateOptions } from '../core/host-gate';
import { QuietGate } from '../core/quiet-gate';

export interface PoolOptions {
  /** Worker threads; default: the number of cores. */
  workers?: number;
  /** Per-trial wall-time limit; the worker is terminated and replaced. */
  timeLimitSec?: number;
  /** Per-worker V8 heap limit (Piscina resourceLimits). */
  memoryLimitMb?: number;
  /** The worker module (default: worker.js beside this file); tests pass one that injects faults. */
  workerFile?: string;
  /** Handed to every worker thread as workerData. */
  workerData?: unknown;
  /**
   * Measure latency while no other worker trains (core/quiet-gate.ts); on
   * by default. Off only to measure what the gate costs in throughput.
   */
  quietLatency?: boolean;
  /**
   * Also keep latency quiet against the other processes of this host that
   * name this directory (several `kdsearch worker` processes on one machine).
   */
  hostGateDir?: string;
}

export const DEFAULT_MEMORY_LIMIT_MB = 4096;

/** The V8 limits every trial worker runs under (shared with bench:engine, which must time the same workers). */
export function workerResourceLimits(opts: { memoryLimitMb?: number } = {}): { maxOldGenerationSizeMb: number } {
  return { maxOldGenerationSizeMb: opts.memoryLimitMb ?? DEFAULT_MEMORY_LIMIT_MB };
}

function describeCrash(err: unknown): { code: 'TRIAL_OUT_OF_MEMORY' | 'TRIAL_CRASHED'; message: string } {
  const e = err as { code?: string; message?: string };
  if (e?.code === 'ERR_WORKER_OUT_OF_MEMORY' || /out of memory|heap limit/i.test(e?.message ?? '')) {
    return { code: 'TRIAL_OUT_OF_MEMORY', message: `the worker ran out of memory (${e.message})` };
  }
  return { code: 'TRIAL_CRASHED', message: `the worker crashed: ${e?.message ?? String(err)}` };
}

/** The local executor: a Piscina pool of worker threads, one trial per task. */
export class PiscinaExecutor implements TrialExecutor {
  readonly concurrency: number;
  private readonly pool: Piscina;
  private readonly timeLimitMs?: number;
  /** The quiet gate's shared state, and the slots no run holds. */
  private readonly gate?: SharedArrayBuffer;
  private readonly freeSlots: number[];
  private readonly host?: HostGateOptions;

  constructor(opts: PoolOptions = {}) {
    this.concurrency = opts.workers ?? availableParallelism();
    this.timeLimitMs = opts.timeLimitSec ? opts.timeLimitSec * 1000 : undefined;
    this.gate = opts.quietLatency === false ? undefined : QuietGate.create(this.concurrency);
    this.host = opts.hostGateDir && this.gate ? { dir: opts.hostGateDir, id: `${process.pid}-${randomBytes(4).toString('hex')}` } : undefined;
    this.freeSlots = Array.from({ length: this.concurrency }, (_, i) => i);
    this.pool = new Piscina({
      filename: opts.workerFile ?? join(__dirname, 'worker.js'),
      workerData: opts.workerData,
      minThreads: this.concurrency,
      maxThreads: this.concurrency,
      // One trial per worker at a time: trials are CPU-bound.
      concurrentTasksPerWorker: 1,
      idleTimeout: 60_000,
      resourceLimits: workerResourceLimits(opts),
    });
  }

  async run(task: TrialTask, hooks: RunHooks): Promise<TrialOutcome> {
    const channel = new MessageChannel();
    channel.port1.on('message', (record: EpochRecord) => hooks.onEpoch(record));
    const abort = new AbortController();
    const onStop = () => abort.abort(new Error('stopped'));
    hooks.signal.addEventListener('abort', onStop, { once: true });
    let timedOut = false;
    const timer = this.timeLimitMs
      ? setTimeout(() => {
          timedOut = true;
          abort.abort(new Error('time limit'));
        }, this.timeLimitMs)
      : undefined;
    const started = performance.now();
    // The search never runs more tasks than the pool's concurrency, so a slot is always free.
    const slot = this.freeSlots.shift();
    try {
      const message: WorkerMessage = { task, progress: channel.port2, ...(this.gate && slot !== undefined ? { gate: { buffer: this.gate, slot, ...(this.host ? { host: this.host } : {}) } } : {}) };
      return parseOutcome(await this.pool.run(message, { transferList: [channel.port2], signal: abort.signal }));
    } catch (err) {
      const seconds = (performance.now() - started) / 1000;
      if (timedOut) {
        return { ok: false, code: 'TRIAL_TIMEOUT', message: `the trial exceeded its time limit of ${this.timeLimitMs! / 1000} s and was stopped`, seconds };
      }
      if (hooks.signal.aborted) return { ok: false, code: 'INTERRUPTED', message: 'the search was stopped', seconds };
      return { ok: false, ...describeCrash(err), seconds };
    } finally {
      if (slot !== undefined) {
        // Whatever way the run ended (a worker killed inside a step too), its slot no longer holds the gate.
        if (this.gate) QuietGate.clear(this.gate, slot);
        this.freeSlots.push(slot);
      }
      if (timer) clearTimeout(timer);
      hooks.signal.removeEventListener('abort', onStop);
      channel.port1.close();
    }
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
