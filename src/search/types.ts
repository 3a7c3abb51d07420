import type { Candidate } from '../space/candidate';
import type { SpaceContext } from '../space/sample';
import type { SearchSpace } from '../space/schema';
import type { Rng } from '../util/rng';

export const TRIAL_STATES = ['WAITING', 'RUNNING', 'COMPLETE', 'FAILED', 'PRUNED'] as const;
export type TrialState = (typeof TRIAL_STATES)[number];

/** The measured metrics of a COMPLETE trial (DESIGN.md rule 8). */
export interface TrialMetrics {
  accuracy: number;
  floatAccuracy: number;
  /** Online distillation: the teacher-side network's accuracy. */
  peerAccuracy?: number;
  params: number;
  macs: number;
  sizeBytes: number;
  latencyMs: number;
  latencyP10Ms: number;
  latencyP90Ms: number;
}

/** What a controller sees of a trial: everything it needs lives in the store. */
export interface TrialRecord {
  number: number;
  hash: string;
  candidate: Candidate;
  state: TrialState;
  metrics?: TrialMetrics;
}

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
