import { candidateHash } from '../../space/candidate';
import { crossover, mutate } from '../../space/mutate';
import { sampleCandidate } from '../../space/sample';
import { scoredTrials } from '../objectives';
import { crowdingDistance, nonDominatedSort } from '../pareto';
import type { Controller } from '../types';
import { propose } from './propose';

export interface Nsga2Options {
  /** Parent population size; the first `population` trials are random. */
  population: number;
  crossoverProbability: number;
  /** Chance that a child is also mutated (a child equal to a parent always is). */
  mutationProbability: number;
}

/**
 * NSGA-II (Deb et al. 2002) as a function of the history: the parent
 * population is the best `population` feasible COMPLETE trials by
 * non-domination rank, then crowding distance (elitist selection over all
 * trials so far); two binary tournaments on (rank, crowding) pick the
 * parents; the child is their crossover, then mutated once.
 */
export function nsga2Controller(opts: Nsga2Options = { population: 32, crossoverProbability: 0.9, mutationProbability: 1 }): Controller {
  return {
    name: 'nsga2',
    ask: (input) => {
      const { space, spaceContext, rng } = input;
      const { trials, pointsOf } = scoredTrials(space, input.history);
      if (input.history.length < opts.population || trials.length < 2) {
        return propose(input, () => sampleCandidate(space, spaceContext, rng));
      }
      // Every point counts for dominance, a self-exits trial's exits too; a trial ranks as its best point.
      const points = pointsOf.flat();
      const owner = pointsOf.flatMap((list, i) => list.map(() => i));
      const rank = new Array<number>(trials.length).fill(Infinity);
      const crowd = new Array<number>(trials.length).fill(-Infinity);
      nonDominatedSort(points).forEach((front, r) => {
        const d = crowdingDistance(points, front);
        front.forEach((p, k) => {
          const i = owner[p];
          if (r < rank[i]) [rank[i], crowd[i]] = [r, d[k]];
          else if (r === rank[i]) crowd[i] = Math.max(crowd[i], d[k]);
        });
      });
      const ordered = trials.map((_, i) => i).sort((a, b) => rank[a] - rank[b] || crowd[b] - crowd[a] || trials[a].number - trials[b].number);
      const parents = ordered.slice(0, opts.population);
      const better = (a: number, b: number) => (rank[a] !== rank[b] ? (rank[a] < rank[b] ? a : b) : crowd[a] >= crowd[b] ? a : b);
      const tournament = () => better(rng.pick(parents), rng.pick(parents));
      return propose(input, () => {
        const a = trials[tournament()].candidate;
        const b = trials[tournament()].candidate;
        const child = rng.next() < opts.crossoverProbability ? crossover(space, spaceContext, a, b, rng) : a;
        const same = candidateHash(child) === candidateHash(a) || candidateHash(child) === candidateHash(b);
        return same || rng.next() < opts.mutationProbability ? mutate(space, spaceContext, child, rng) : child;
      });
    },
  };
}
