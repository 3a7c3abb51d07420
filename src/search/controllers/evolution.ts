import { mutate } from '../../space/mutate';
import { sampleCandidate } from '../../space/sample';
import type { Rng } from '../../core/rng';
import { scoredTrials } from '../objectives';
import type { Controller } from '../types';
import { propose } from './propose';
import type { TrialRecord } from '../../space/history';

export interface EvolutionOptions {
  /** Size of the sliding population (the most recent COMPLETE trials). */
  population: number;
  /** Tournament size. */
  sample: number;
}

/** Random weights on the simplex, one set per child: scalarises the objectives. */
function randomWeights(dims: number, rng: Rng): number[] {
  const e = Array.from({ length: dims }, () => -Math.log(1 - rng.next()));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/**
 * Regularized (aging) evolution, Real et al. 2019: the population is the
 * `population` most recent COMPLETE trials, so old members age out; a
 * tournament of `sample` random members picks the parent, which is mutated
 * once. Several objectives are scalarised with random weights drawn per
 * child over min-max normalised objectives, so different children pull
 * toward different parts of the front.
 */
export function evolutionController(opts: EvolutionOptions = { population: 20, sample: 5 }): Controller {
  return {
    name: 'evolution',
    ask: (input) => {
      const { space, spaceContext, rng } = input;
      const { trials, pointsOf } = scoredTrials(space, input.history);
      if (input.history.length < opts.population || trials.length === 0) {
        return propose(input, () => sampleCandidate(space, spaceContext, rng));
      }
      // Most recent first by trial number: the aging population.
      const order = trials.map((_, i) => i).sort((a, b) => trials[b].number - trials[a].number).slice(0, opts.population);
      const dims = space.objectives.length;
      const all = order.flatMap((i) => pointsOf[i]);
      const lo = Array.from({ length: dims }, (_, m) => Math.min(...all.map((p) => p[m])));
      const hi = Array.from({ length: dims }, (_, m) => Math.max(...all.map((p) => p[m])));
      const weights = randomWeights(dims, rng);
      const scalar = (p: readonly number[]) => p.reduce((s, v, m) => s + weights[m] * (hi[m] > lo[m] ? (v - lo[m]) / (hi[m] - lo[m]) : 0), 0);
      // a self-exits trial scores as its best point, itself or one of its exits
      const score = (i: number) => Math.min(...pointsOf[i].map(scalar));
      const contestants = Array.from({ length: Math.min(opts.sample, order.length) }, () => rng.pick(order));
      const parent: TrialRecord = trials[contestants.reduce((best, i) => (score(i) < score(best) ? i : best))];
      return propose(input, () => mutate(space, spaceContext, parent.candidate, rng));
    },
  };
}
