import type { ObjectiveMetric, SearchSpace } from '../space/schema';
import { MAXIMISED } from '../space/schema';
import { hypervolume } from './hypervolume';
import { paretoFront } from './pareto';
import { FrontProgress, RunningFront } from './running-front';
import type { FrontPoint } from './running-front';
import type { TrialRecord } from '../space/history';
import type { TrialMetrics } from '../core/metrics';

/** A metric as a minimised quantity: maximised metrics are negated. */
export function toMin(metric: ObjectiveMetric, value: number): number {
  return MAXIMISED.has(metric) ? -value : value;
}

export function objectiveVector(metrics: TrialMetrics, objectives: readonly ObjectiveMetric[]): number[] {
  return objectives.map((o) => toMin(o, metrics[o]));
}

export function referenceVector(space: SearchSpace): number[] {
  return space.objectives.map((o) => toMin(o, space.reference[o]!));
}

/** A COMPLETE trial that meets the constraints only measurable after training. */
export function isFeasible(space: SearchSpace, t: TrialRecord): t is TrialRecord & { metrics: TrialMetrics } {
  if (t.state !== 'COMPLETE' || !t.metrics) return false;
  const max = space.constraints.maxLatencyMs;
  return max === undefined || t.metrics.latencyMs <= max;
}

/**
 * The feasible COMPLETE trials with their objective vectors (the controllers
 * rank these): `points` the trial's own, `pointsOf` all it puts in objective
 * space (its own first, then its feasible shallow exits).
 */
export function scoredTrials(space: SearchSpace, history: readonly TrialRecord[]) {
  const trials = history.filter((t) => isFeasible(space, t));
  const pointsOf = trials.map((t) => trialPoints(space, t).map((p) => [...p.values]));
  return { trials, points: pointsOf.map((list) => list[0]), pointsOf };
}

/**
 * The points a trial puts in objective space: when it is COMPLETE, itself
 * and each of its shallow exits (self-exits) that meets the constraints;
 * none otherwise.
 */
export function trialPoints<T extends TrialRecord>(space: SearchSpace, t: T): Array<FrontPoint<T>> {
  if (!isFeasible(space, t)) return [];
  const max = space.constraints.maxLatencyMs;
  const exits = (t.exits ?? []).filter((x) => max === undefined || x.metrics.latencyMs <= max);
  return [{ key: t, values: objectiveVector(t.metrics, space.objectives) }, ...exits.map((x) => ({ key: t, exit: x.exit, values: objectiveVector(x.metrics, space.objectives) }))];
}

/** A member of the front: a trial, or one shallow exit of one, with its metrics. */
export interface FrontMember<T extends TrialRecord> {
  trial: T;
  exit?: number;
  metrics: TrialMetrics;
}

/** The front's members, trials and exits, by trial number then exit (the trial itself first). */
export function frontMembers<T extends TrialRecord>(space: SearchSpace, history: readonly T[]): Array<FrontMember<T>> {
  const front = new RunningFront<T>();
  for (const t of history) for (const p of trialPoints(space, t)) front.add(p);
  return [...front.points]
    .sort((a, b) => a.key.number - b.key.number || (a.exit ?? Infinity) - (b.exit ?? Infinity))
    .map((p) => ({ trial: p.key, ...(p.exit === undefined ? {} : { exit: p.exit }), metrics: p.exit === undefined ? p.key.metrics! : p.key.exits!.find((x) => x.exit === p.exit)!.metrics }));
}

/** The front and the hypervolume after each trial, built in trial-number order (kept incrementally: see FrontProgress). */
export function frontProgress<T extends TrialRecord>(space: SearchSpace, history: readonly T[]): FrontProgress<T> {
  const progress = new FrontProgress<T>(referenceVector(space));
  for (const t of [...history].sort((a, b) => a.number - b.number)) progress.add(t.number, trialPoints(space, t));
  return progress;
}

/** The trials of front points, once each, by trial number. */
export function frontTrials<T extends TrialRecord>(points: ReadonlyArray<FrontPoint<T>>): T[] {
  return [...new Set(points.map((p) => p.key))].sort((a, b) => a.number - b.number);
}

/** The front: non-dominated feasible trials over all objectives, by trial number. */
export function frontOf<T extends TrialRecord>(space: SearchSpace, history: readonly T[]): T[] {
  const front = new RunningFront<T>();
  for (const t of history) for (const p of trialPoints(space, t)) front.add(p);
  return frontTrials(front.points);
}

/**
 * The members that trade off on two metrics: non-dominated in the plane of
 * `x` and `y` (the rest of the front is non-dominated only through another
 * objective), ordered by `x`: the staircase a 2-D plot joins.
 */
export function tradeOffOn<T extends { number: number; metrics?: TrialMetrics }>(members: readonly T[], x: ObjectiveMetric, y: ObjectiveMetric): T[] {
  const scored = members.filter((t): t is T & { metrics: TrialMetrics } => t.metrics !== undefined);
  return paretoFront(scored.map((t) => [toMin(x, t.metrics[x]), toMin(y, t.metrics[y])]))
    .map((i) => scored[i])
    .sort((a, b) => a.metrics[x] - b.metrics[x] || a.number - b.number);
}

/** Hypervolume of the front against the space's reference point. */
export function frontHypervolume(space: SearchSpace, history: readonly TrialRecord[]): number {
  const front = new RunningFront<TrialRecord>();
  for (const t of history) for (const p of trialPoints(space, t)) front.add(p);
  return hypervolume(front.points.map((p) => p.values), referenceVector(space));
}

/** Hypervolume after each trial (by number): the search's progress curve. */
export function hypervolumeCurve(space: SearchSpace, history: readonly TrialRecord[]): Array<{ trial: number; hypervolume: number }> {
  return frontProgress(space, history).curve.map((s) => ({ trial: s.step, hypervolume: s.hypervolume }));
}
