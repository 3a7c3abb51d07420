import { candidateHash } from '../space/candidate';
import type { SpaceContext } from '../space/sample';
import type { SearchSpace } from '../space/schema';
import { createRng } from '../core/rng';
import { frontHypervolume } from './objectives';
import { standInMetrics } from './stand-in';
import type { Controller } from './types';
import type { TrialRecord } from '../space/history';

/**
 * A sequential search on the stand-in objective: the same ask/record cycle
 * as the real loop (history in, seeded RNG per trial number), no training.
 */
export function simulateSearch(opts: { space: SearchSpace; ctx: SpaceContext; controller: Controller; seed: number; trials: number }) {
  const history: TrialRecord[] = [];
  const hypervolumes: number[] = [];
  for (let number = 0; number < opts.trials; number++) {
    const candidate = opts.controller.ask({ space: opts.space, spaceContext: opts.ctx, history, rng: createRng('ask', opts.seed, number) });
    if (!candidate) break;
    history.push({ number, hash: candidateHash(candidate), candidate, state: 'COMPLETE', metrics: standInMetrics(candidate, opts.ctx) });
    hypervolumes.push(frontHypervolume(opts.space, history));
  }
  return { history, hypervolumes };
}
