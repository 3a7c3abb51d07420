import type { Candidate } from '../space/candidate';
import type { TrialRecord } from '../space/history';
import type { SpaceContext } from '../space/sample';
import { estimateSize } from '../space/sample';
import type { SearchSpace } from '../space/schema';
import { median, pearson, spearman } from '../core/rank';
import { hypervolume } from './hypervolume';
import { LATENCY_FEATURES, latencyFeatures, latencyModelOf, predictLatency } from './latency-model';
import { nonDominatedSort } from './pareto';
import { isFeasible, objectiveVector, toMin } from './objectives';

/** A proposed candidate and its pre-screen score. */
export interface ScreenedCandidate {
  candidate: Candidate;
  /** Held-out accuracy after the screen's steps. */
  accuracy: number;
}

export interface PickInput {
  space: SearchSpace;
  spaceContext: SpaceContext;
  history: readonly TrialRecord[];
  screened: readonly ScreenedCandidate[];
}

export interface Pick {
  /** Index into `screened`. */
  index: number;
  /** Each candidate's final accuracy as predicted from its score. */
  predictedAccuracy: number[];
  /** Each candidate's hypervolume added to the current front, by its predicted point. */
  gain: number[];
}

/** Pre-screened COMPLETE trials needed before a line through (score, final accuracy) replaces the median gap. */
export const MIN_FIT = 5;

/**
 * Final accuracy predicted from a screen score, learned from the history:
 * the least-squares line through the pre-screened COMPLETE trials' (score,
 * final accuracy) once there are MIN_FIT of them and the two correlate
 * positively; before that the score plus the median gap between final and
 * screened accuracy (0 with no such trial: the score as it is). Clamped to
 * [0, 1].
 */
export function accuracyPredictor(history: readonly TrialRecord[]): (score: number) => number {
  const pairs = history.filter((t) => t.state === 'COMPLETE' && t.metrics && t.prescreen).map((t) => [t.prescreen!.accuracy, t.metrics!.accuracy] as const);
  const clamp = (v: number) => Math.min(1, Math.max(0, v));
  if (pairs.length >= MIN_FIT) {
    const xs = pairs.map((p) => p[0]);
    const ys = pairs.map((p) => p[1]);
    if (pearson(xs, ys) > 0) {
      const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
      const my = ys.reduce((a, b) => a + b, 0) / ys.length;
      const sxy = xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0);
      const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
      const slope = sxy / sxx;
      return (score) => clamp(my + slope * (score - mx));
    }
  }
  const gap = pairs.length ? median(pairs.map(([s, f]) => f - s)) : 0;
  return (score) => clamp(score + gap);
}

/**
 * Which proposed candidate to train: the one whose predicted point (final
 * accuracy from its score, size from its spec, latency from the experiment's
 * latency model) adds the most hypervolume to the front of the COMPLETE
 * trials; when none adds any, the one on the best non-dominated level of
 * front and candidates together; then the controller's order. Objectives
 * that cannot be predicted yet (latency before the model has as many
 * students as features) are left out of this comparison. A pure function of
 * the history and the scores (DESIGN.md rule 1).
 */
export function pickScreened(input: PickInput): Pick {
  const { space, spaceContext: ctx, history, screened } = input;
  if (screened.length === 0) throw new RangeError('pickScreened needs at least one candidate');
  const predict = accuracyPredictor(history);
  const model = latencyModelOf(history, ctx);
  const latencyKnown = model.n > LATENCY_FEATURES.length;
  const objectives = space.objectives.filter((o) => o !== 'latencyMs' || latencyKnown);
  const reference = objectives.map((o) => toMin(o, space.reference[o]!));

  const predictedAccuracy = screened.map((s) => predict(s.accuracy));
  const candidatePoint = (c: Candidate, acc: number): number[] => {
    const size = estimateSize(c, ctx);
    return objectives.map((o) => {
      if (o === 'accuracy') return toMin(o, acc);
      if (o === 'latencyMs') {
        const f = latencyFeatures(c, ctx);
        return f ? predictLatency(model, f) : Infinity;
      }
      return toMin(o, size[o as 'params' | 'macs' | 'sizeBytes']);
    });
  };
  const points = screened.map((s, i) => candidatePoint(s.candidate, predictedAccuracy[i]));
  const front = history.filter((t) => isFeasible(space, t)).map((t) => objectiveVector(t.metrics, objectives));
  const base = hypervolume(front, reference);
  const gain = points.map((p) => (p.every(Number.isFinite) ? hypervolume([...front, p], reference) - base : 0));
  const levels = nonDominatedSort([...front, ...points]);
  const levelOf = (i: number) => levels.findIndex((l) => l.includes(front.length + i));
  let index = 0;
  for (let i = 1; i < screened.length; i++) {
    const better = gain[i] > gain[index] || (gain[i] === gain[index] && levelOf(i) < levelOf(index));
    if (better) index = i;
  }
  return { index, predictedAccuracy, gain };
}

/** How well the pre-screen's score ranked the students it chose: Spearman correlation with their final accuracy. */
export interface PrescreenAgreement {
  /** Pre-screened COMPLETE trials. */
  trials: number;
  /** Undefined below 3 trials. */
  spearman?: number;
}

export function prescreenAgreement(history: readonly TrialRecord[]): PrescreenAgreement | undefined {
  if (!history.some((t) => t.prescreen)) return undefined;
  const screened = history.filter((t) => t.state === 'COMPLETE' && t.metrics && t.prescreen);
  const x = screened.map((t) => t.prescreen!.accuracy);
  const y = screened.map((t) => t.metrics!.accuracy);
  return { trials: screened.length, ...(screened.length >= 3 ? { spearman: spearman(x, y) } : {}) };
}

/** One line on the pre-screen, or undefined for an experiment without one. */
export function describePrescreen(a: PrescreenAgreement | undefined): string | undefined {
  if (!a) return undefined;
  if (a.spearman === undefined) return `pre-screen: ${a.trials} pre-screened students complete; too few to judge its score`;
  return `pre-screen: its score's Spearman correlation with final accuracy ${a.spearman.toFixed(2)}, over ${a.trials} students`;
}
