import type { Candidate } from '../space/candidate';
import type { SpaceContext } from '../space/sample';
import type { SearchSpace } from '../space/schema';
import type { Rng } from '../core/rng';
import type { TrialRecord } from '../space/history';

export interface AskInput {
  space: SearchSpace;
  spaceContext: SpaceContext;
  /** Every trial of the experiment so far, any state, in trial-number order. */
  history: readonly TrialRecord[];
  /** Seeded by (experiment seed, trial number): the same history gives the same answer. */
  rng: Rng;
}

/**
 * A controller is a pure function of the stored history and a seeded RNG
 * (DESIGN.md rule 1): it keeps no state, so a resumed search asks exactly
 * what an uninterrupted one would have. undefined means the space is exhausted.
 */
export interface Controller {
  name: string;
  ask(input: AskInput): Candidate | undefined;
}
