import { hostname } from 'node:os';
import type { EpochRecord } from '../distill/loop';
import { estimateSize } from '../space/sample';
import type { SpaceContext } from '../space/sample';
import { candidateHash } from '../space/candidate';
import type { Controller } from '../search/types';
import type { Experiment, Store } from '../store/store';
import { createRng } from '../util/rng';
import type { TrialExecutor } from './executor';
import type { SharedData } from './shared-data';
import type { TrialOutcome, TrialTask } from './task';
import type { BackendChoice } from '../model/backend';
import type { ConcreteSpec } from '../space/student';

export type SearchEvent =
  | { type: 'trial-start'; number: number; family: string }
  | { type: 'epoch'; number: number; record: EpochRecord }
  | { type: 'trial-end'; number: number; outcome: TrialOutcome }
  | { type: 'exhausted' };

export interface SearchLoopOptions {
  store: Store;
  experiment: Experiment;
  controller: Controller;
  spaceContext: SpaceContext;
  executor: TrialExecutor;
  data: SharedData;
  teacher: { spec?: ConcreteSpec; topology: Record<string, unknown> };
  backend: BackendChoice;
  /** Total trials the experiment should have when the loop ends. */
  trials: number;
  /** Aborting stops the loop: in-flight trials go back to WAITING. */
  signal: AbortSignal;
  onEvent?: (event: SearchEvent) => void;
  heartbeatMs?: number;
  /** Test hook: fault injection per trial number. */
  inject?: (number: number) => TrialTask['inject'];
}

/** Identifies this process in trial rows, so a later run can tell whether it is gone. */
export const OWNER = `${hostname()}:${process.pid}`;

/**
 * The search: ask the controller for a candidate, store it WAITING, claim it,
 * run it on the executor, record the outcome; keep `executor.concurrency`
 * trials in flight. Only this (main) thread writes the store.
 */
export async function runSearchLoop(opts: SearchLoopOptions): Promise<{ stopped: boolean; exhausted: boolean }> {
  const { store, experiment: exp, executor } = opts;
  const inFlight = new Map<number, Promise<void>>();
  let exhausted = false;
  const heartbeat = setInterval(() => store.heartbeat(exp, OWNER), opts.heartbeatMs ?? 5000);
  heartbeat.unref();

  const nextCandidateTrial = (): number | undefined => {
    const waiting = store.waitingTrials(exp).filter((n) => !inFlight.has(n));
    if (waiting.length) return waiting[0];
    const number = store.nextTrialNumber(exp);
    if (exhausted || number >= opts.trials) return undefined;
    const candidate = opts.controller.ask({
      space: exp.space,
      spaceContext: opts.spaceContext,
      history: store.history(exp),
      rng: createRng('ask', exp.seed, number),
    });
    if (!candidate) {
      exhausted = true;
      opts.onEvent?.({ type: 'exhausted' });
      return undefined;
    }
    store.insertTrial(exp, number, candidate, candidateHash(candidate), estimateSize(candidate, opts.spaceContext));
    return number;
  };

  const runOne = async (number: number) => {
    const record = store.trial(exp, number)!;
    opts.onEvent?.({ type: 'trial-start', number, family: record.candidate.genes.family });
    const outcome = await executor.run(
      {
        experiment: exp.name,
        trialNumber: number,
        candidate: record.candidate,
        seed: exp.seed,
        backend: opts.backend,
        data: opts.data,
        teacher: opts.teacher,
        inject: opts.inject?.(number),
      },
      {
        signal: opts.signal,
        onEpoch: (r) => {
          if (opts.signal.aborted) return;
          store.recordEpoch(exp, number, r);
          opts.onEvent?.({ type: 'epoch', number, record: r });
        },
      },
    );
    if (opts.signal.aborted) return; // requeued below, never recorded as failed
    if (outcome.ok) {
      store.completeTrial(exp, number, {
        metrics: outcome.metrics,
        layers: outcome.layers,
        backend: outcome.backend,
        seconds: outcome.seconds,
        curve: outcome.curve,
        weights: { topology: outcome.topology, manifest: outcome.manifest, data: Buffer.from(outcome.weights) },
      });
    } else {
      store.finishWithoutResult(exp, number, 'FAILED', { code: outcome.code, message: outcome.message, backend: outcome.backend, seconds: outcome.seconds });
    }
    opts.onEvent?.({ type: 'trial-end', number, outcome });
  };

  const stop = new Promise<void>((resolve) => opts.signal.addEventListener('abort', () => resolve(), { once: true }));
  try {
    while (!opts.signal.aborted) {
      while (inFlight.size < executor.concurrency && !opts.signal.aborted) {
        const number = nextCandidateTrial();
        if (number === undefined) break;
        if (!store.claimTrial(exp, number, OWNER)) continue;
        const p = runOne(number).finally(() => inFlight.delete(number));
        inFlight.set(number, p);
      }
      if (inFlight.size === 0) break;
      await Promise.race([...inFlight.values(), stop]);
    }
    if (opts.signal.aborted) {
      await Promise.allSettled(inFlight.values());
      store.requeueOwned(exp, OWNER);
    }
  } finally {
    clearInterval(heartbeat);
  }
  return { stopped: opts.signal.aborted, exhausted };
}
