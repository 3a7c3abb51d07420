import type { Fidelity, SearchSpace } from '../space/schema';
import type { TrialRecord } from '../space/history';
import { objectiveVector } from './objectives';
import { crowdingDistance, nonDominatedSort } from './pareto';

/** The rungs of a trial of `epochs` epochs: minEpochs * eta^k while below `epochs` (it completes at `epochs`). */
export function rungEpochs(fidelity: Fidelity | undefined, epochs: number): number[] {
  const rungs: number[] = [];
  if (!fidelity) return rungs;
  for (let r = fidelity.minEpochs; r < epochs; r *= fidelity.eta) rungs.push(r);
  return rungs;
}

/** Where a trial's next leg stops: the first rung after `trained` epochs, or undefined to train to the end. */
export function nextRung(fidelity: Fidelity | undefined, epochs: number, trained: number): number | undefined {
  return rungEpochs(fidelity, epochs).find((r) => r > trained);
}

/** The epoch of the rung a trial reached last (0 when none). */
export function lastRung(t: Pick<TrialRecord, 'rungs'>): number {
  return t.rungs?.length ? t.rungs[t.rungs.length - 1].epoch : 0;
}

/**
 * The trials measured at one rung, best first: by non-dominated sorting
 * over the space's objectives (the rung's metrics), within a front by
 * crowding distance (larger first: the front's ends and sparse regions),
 * then by trial number. Students over maxLatencyMs come after all others:
 * they can never be on the front.
 */
export function rankAtRung(space: SearchSpace, trials: readonly TrialRecord[], epoch: number): TrialRecord[] {
  const max = space.constraints.maxLatencyMs;
  const at = trials
    .map((t) => ({ t, metrics: t.rungs?.find((r) => r.epoch === epoch)?.metrics }))
    .filter((x): x is { t: TrialRecord; metrics: NonNullable<typeof x.metrics> } => x.metrics !== undefined);
  const ranked: TrialRecord[] = [];
  for (const group of [at.filter((x) => max === undefined || x.metrics.latencyMs <= max), at.filter((x) => max !== undefined && x.metrics.latencyMs > max)]) {
    const points = group.map((x) => objectiveVector(x.metrics, space.objectives));
    for (const front of nonDominatedSort(points)) {
      const crowding = crowdingDistance(points, front);
      const order = front.map((i, k) => ({ i, d: crowding[k] })).sort((a, b) => b.d - a.d || group[a.i].t.number - group[b.i].t.number);
      ranked.push(...order.map(({ i }) => group[i].t));
    }
  }
  return ranked;
}

/**
 * The paused trial to continue next, if any: asynchronous successive
 * halving (ASHA, Li et al. 2020) ranked over all objectives (MO-ASHA,
 * Schmucker et al. 2021). From the highest rung down, a PAUSED trial at
 * that rung is promoted when it is among the best floor(n / eta) of the n
 * trials measured there (any state: those already promoted count), without
 * waiting for the rung to fill. A function of the stored trials alone
 * (DESIGN.md rule 1): a resumed search makes the same decisions.
 */
export function promotable(space: SearchSpace, history: readonly TrialRecord[]): number | undefined {
  const fidelity = space.fidelity;
  if (!fidelity) return undefined;
  const levels = [...new Set(history.flatMap((t) => (t.rungs ?? []).map((r) => r.epoch)))].sort((a, b) => b - a);
  for (const epoch of levels) {
    const ranked = rankAtRung(space, history, epoch);
    const top = ranked.slice(0, Math.floor(ranked.length / fidelity.eta));
    const max = space.constraints.maxLatencyMs;
    const next = top.find((t) => t.state === 'PAUSED' && lastRung(t) === epoch && (max === undefined || t.rungs!.at(-1)!.metrics.latencyMs <= max));
    if (next) return next.number;
  }
  return undefined;
}
