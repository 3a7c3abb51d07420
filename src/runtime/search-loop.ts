import type { EpochRecord } from '../core/epoch';
import type { LatencyCalibration } from '../core/metrics';
import { legOutcome, screenOutcome } from '../core/outcome';
import { pickScreened } from '../search/prescreen';
import type { Candidate } from '../space/candidate';
import type { TrialFailure, TrialPaused, TrialSuccess } from '../core/outcome';
import { lastRung, nextRung, promotable } from '../search/promotion';
import { createRng } from '../core/rng';
import type { Controller } from '../search/types';
import { candidateHash } from '../space/candidate';
import { estimateSize } from '../space/sample';
import type { SpaceContext } from '../space/sample';
import type { TeacherArchitecture } from '../space/student';
import type { Experiment, Store } from '../store/store';
import type { TrialExecutor } from './executor';
import { OWNER } from './owner';
import { STALE_GRACE_MS, isStale } from './stale';
import type { SharedData } from './task';
import type { BackendChoice } from '../core/backends';

export type SearchEvent =
  | { type: 'trial-start'; number: number; family: string }
  | { type: 'screened'; number: number; picked: number; of: number; accuracy: number; seconds: number }
  | { type: 'epoch'; number: number; record: EpochRecord }
  | { type: 'trial-end'; number: number; outcome: TrialFinal }
  | { type: 'trial-paused'; number: number; outcome: TrialPaused }
  | { type: 'promoted'; number: number; fromEpoch: number }
  | { type: 'pruned'; numbers: number[] }
  | { type: 'requeued'; numbers: number[] }
  | { type: 'waiting'; trials: Array<{ number: number; owner: string | null }> }
  | { type: 'exhausted' };

/** How a trial ended: complete or failed (a pause is not an end). */
export type TrialFinal = TrialSuccess | TrialFailure;

export interface SearchLoopOptions {
  store: Store;
  experiment: Experiment;
  controller: Controller;
  spaceContext: SpaceContext;
  executor: TrialExecutor;
  data: SharedData;
  teacher: TeacherArchitecture;
  backend: BackendChoice;
  /** The experiment's calibrated reference times, handed to every trial (model/latency-reference.ts). */
  latencyReferences?: LatencyCalibration;
  /** Total trials the experiment should have when the loop ends. */
  trials: number;
  /** Aborting stops the loop: in-flight trials go back to WAITING. */
  signal: AbortSignal;
  onEvent?: (event: SearchEvent) => void;
  heartbeatMs?: number;
  /** Trials of another process are run again once their heartbeat is this old (or at once when their owner is dead). */
  graceMs?: number;
  /** How often trials of other processes are looked at again while this loop has nothing else to wait for. */
  pollMs?: number;
}

/**
 * A timer to race against: resolves after `ms` unless cancelled first. It
 * keeps the process alive on purpose: while the loop only waits for another
 * process's trial, nothing else may.
 */
function tick(ms: number): { done: Promise<void>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return { done, cancel: () => clearTimeout(timer) };
}

/**
 * The search: ask the controller for a candidate, store it WAITING, claim it,
 * run it on the executor, record the outcome; keep `executor.concurrency`
 * trials in flight. Only this (main) thread writes the store.
 *
 * It returns (not stopped) only when no trial is WAITING or RUNNING: trials
 * another process holds are looked at again every `pollMs`, run here once
 * stale (their owner dead, a zombie included, or silent for `graceMs`), and
 * waited for while their owner is alive.
 */
export async function runSearchLoop(opts: SearchLoopOptions): Promise<{ stopped: boolean; exhausted: boolean }> {
  const { store, experiment: exp, executor, signal } = opts;
  const graceMs = opts.graceMs ?? STALE_GRACE_MS;
  const pollMs = opts.pollMs ?? 1000;
  const inFlight = new Map<number, Promise<void>>();
  let exhausted = false;
  let waitingFor = '';
  const heartbeat = setInterval(() => store.heartbeat(exp, OWNER), opts.heartbeatMs ?? 5000);
  heartbeat.unref();

  const requeueStale = () => {
    const stale = store.runningTrials(exp).filter((t) => isStale(t, { graceMs, runningHere: (n) => inFlight.has(n) }));
    const numbers = stale.length ? store.requeueRunning(exp, stale) : [];
    if (numbers.length) opts.onEvent?.({ type: 'requeued', numbers });
  };

  // Trial numbers whose candidates are being pre-screened: taken, though not yet stored.
  const reserved = new Set<number>();
  const nextNumber = () => Math.max(store.nextTrialNumber(exp), ...[...reserved].map((n) => n + 1));

  /** A trial to run now: one WAITING or promoted, a new one from the controller, or (with a pre-screen) a number to screen candidates for. */
  const nextCandidateTrial = (): number | { screen: number } | undefined => {
    const waiting = store.waitingTrials(exp).filter((n) => !inFlight.has(n));
    if (waiting.length) return waiting[0];
    // a paused trial among the best of its rung continues before a new one starts (ASHA)
    const history = exp.space.fidelity ? store.history(exp) : [];
    const promote = promotable(exp.space, history);
    if (promote !== undefined && store.promoteTrial(exp, promote)) {
      opts.onEvent?.({ type: 'promoted', number: promote, fromEpoch: lastRung(history.find((t) => t.number === promote)!) });
      return promote;
    }
    const number = nextNumber();
    if (exhausted || number >= opts.trials) return undefined;
    if (exp.space.prescreen) return { screen: number };
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

  /** The task of a trial (or of a pre-screen of one of its proposed candidates) as the executor takes it. */
  const baseTask = (number: number, candidate: Candidate) => ({
    experiment: exp.name,
    trialNumber: number,
    candidate,
    seed: exp.seed,
    backend: opts.backend,
    data: opts.data,
    teacher: opts.teacher,
    latencyRuntime: exp.space.latency.runtime,
    latencyEffort: exp.space.latency.effort,
    latencyReferences: opts.latencyReferences,
  });

  /**
   * A pre-screened trial: the controller proposes `samples` candidates (the
   * first from the stream it would use without a pre-screen), each is
   * distilled for `steps` batches in this slot, and the pick (search/prescreen.ts)
   * is stored WAITING with every score, then run. Killed before that, nothing
   * is stored and the number is screened again.
   */
  const screenThenRun = async (number: number) => {
    const { samples, steps, evalSamples } = exp.space.prescreen!;
    const history = store.history(exp);
    const proposals: Array<{ candidate: Candidate; hash: string }> = [];
    for (let k = 0; k < samples; k++) {
      const candidate = opts.controller.ask({ space: exp.space, spaceContext: opts.spaceContext, history, rng: k === 0 ? createRng('ask', exp.seed, number) : createRng('ask', exp.seed, number, 'prescreen', k) });
      if (!candidate) break;
      const hash = candidateHash(candidate);
      if (!proposals.some((p) => p.hash === hash)) proposals.push({ candidate, hash });
    }
    if (proposals.length === 0) {
      exhausted = true;
      opts.onEvent?.({ type: 'exhausted' });
      return;
    }
    const started = performance.now();
    const screened: Array<{ candidate: Candidate; hash: string; accuracy: number; kdLoss: number | null }> = [];
    for (const p of proposals) {
      const task = { ...baseTask(number, p.candidate), screen: { steps, evalSamples } };
      const outcome = screenOutcome(await executor.run(task, { signal, onEpoch: () => {} }));
      if (signal.aborted) return;
      await executor.acknowledge?.(task);
      // a candidate whose screen fails (diverged, crashed) scores 0: picked only when every one failed, and then it fails as a trial
      screened.push({ ...p, accuracy: outcome.ok ? outcome.accuracy : 0, kdLoss: outcome.ok ? outcome.kdLoss : null });
    }
    // another slot may have stored one of these meanwhile
    const fresh = screened.filter((s) => !store.hasCandidate(exp, s.hash));
    if (fresh.length === 0) return;
    const pick = pickScreened({ space: exp.space, spaceContext: opts.spaceContext, history: store.history(exp), screened: fresh });
    const chosen = fresh[pick.index];
    const picked = screened.indexOf(chosen);
    const seconds = (performance.now() - started) / 1000;
    store.insertTrial(exp, number, chosen.candidate, chosen.hash, estimateSize(chosen.candidate, opts.spaceContext), {
      steps,
      accuracy: chosen.accuracy,
      kdLoss: chosen.kdLoss,
      predictedAccuracy: pick.predictedAccuracy[pick.index],
      scores: screened.map((s) => ({ hash: s.hash, accuracy: s.accuracy })),
      picked,
      seconds,
    });
    opts.onEvent?.({ type: 'screened', number, picked, of: screened.length, accuracy: chosen.accuracy, seconds });
    if (!store.claimTrial(exp, number, OWNER)) return;
    await runOne(number);
  };

  const runOne = async (number: number) => {
    const record = store.trial(exp, number)!;
    opts.onEvent?.({ type: 'trial-start', number, family: record.candidate.genes.family });
    // a promoted (or requeued) trial continues from its checkpoint, to its next rung or to the end
    const resume = store.checkpoint(exp, number);
    const stopAt = nextRung(exp.space.fidelity, record.candidate.training.epochs, resume?.epoch ?? 0);
    const firstRung = record.rungs?.[0]?.metrics;
    const fidelity =
      stopAt !== undefined || resume
        ? {
            stopAt,
            resume,
            latency: firstRung && { latencyMs: firstRung.latencyMs, latencyP10Ms: firstRung.latencyP10Ms, latencyP90Ms: firstRung.latencyP90Ms, latencyRuntime: firstRung.latencyRuntime },
          }
        : undefined;
    const task = { ...baseTask(number, record.candidate), fidelity };
    const outcome = legOutcome(await executor.run(
      task,
      {
        signal,
        onEpoch: (r) => {
          if (signal.aborted) return;
          store.recordEpoch(exp, number, r);
          opts.onEvent?.({ type: 'epoch', number, record: r });
        },
      },
    ));
    if (signal.aborted) return; // requeued below, never recorded as failed
    if (outcome.ok && outcome.paused) {
      const { epoch, metrics, backend, seconds, curve, checkpoint } = outcome;
      store.pauseTrial(exp, number, { epoch, metrics, backend, seconds, curve, checkpoint });
      await executor.acknowledge?.(task);
      opts.onEvent?.({ type: 'trial-paused', number, outcome });
      return;
    }
    if (outcome.ok) {
      store.completeTrial(exp, number, {
        metrics: outcome.metrics,
        layers: outcome.layers,
        backend: outcome.backend,
        seconds: outcome.seconds,
        curve: outcome.curve,
        weights: { topology: outcome.topology, manifest: outcome.manifest, data: Buffer.from(outcome.weights) },
        exits: outcome.exits?.map((x) => ({ exit: x.exit, metrics: x.metrics, layers: x.layers, weights: { topology: x.topology, manifest: x.manifest, data: Buffer.from(x.weights) } })),
      });
    } else {
      store.finishWithoutResult(exp, number, 'FAILED', { code: outcome.code, message: outcome.message, backend: outcome.backend, seconds: outcome.seconds });
    }
    await executor.acknowledge?.(task);
    opts.onEvent?.({ type: 'trial-end', number, outcome });
  };

  const stop = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  try {
    while (!signal.aborted) {
      requeueStale();
      while (inFlight.size < executor.concurrency && !signal.aborted) {
        const next = nextCandidateTrial();
        if (next === undefined) break;
        if (typeof next === 'object') {
          const n = next.screen;
          reserved.add(n);
          inFlight.set(n, screenThenRun(n).finally(() => {
            inFlight.delete(n);
            reserved.delete(n);
          }));
          continue;
        }
        const number = next;
        if (!store.claimTrial(exp, number, OWNER)) continue;
        const p = runOne(number).finally(() => inFlight.delete(number));
        inFlight.set(number, p);
      }
      if (inFlight.size === 0) {
        const elsewhere = store.runningTrials(exp);
        if (elsewhere.length === 0 && store.waitingTrials(exp).length === 0) {
          // nothing runs, nothing is promotable and no trial may start: the paused ones end here
          const pruned = store.prunePaused(exp, (epoch) => `not among the best 1/${exp.space.fidelity?.eta ?? 1} of the trials at its rung (epoch ${epoch}) when the search ended`);
          if (pruned.length) opts.onEvent?.({ type: 'pruned', numbers: pruned });
          break;
        }
        const key = JSON.stringify(elsewhere.map((t) => [t.number, t.owner]));
        if (key !== waitingFor) opts.onEvent?.({ type: 'waiting', trials: elsewhere.map(({ number, owner }) => ({ number, owner })) });
        waitingFor = key;
      } else {
        waitingFor = '';
      }
      // Wake on the first trial to end, or after pollMs to look at other processes' trials again.
      const poll = tick(pollMs);
      await Promise.race([...inFlight.values(), stop, poll.done]);
      poll.cancel();
    }
    if (signal.aborted) {
      await Promise.allSettled(inFlight.values());
      store.requeueOwned(exp, OWNER);
    }
  } finally {
    clearInterval(heartbeat);
  }
  return { stopped: signal.aborted, exhausted };
}
