import type { Candidate } from './candidate';
import type { TrialMetrics } from '../core/metrics';
import type { TrialState } from '../core/trial-state';

/**
 * A trial as the controllers see it and the store returns it: the candidate
 * and, once COMPLETE, its metrics. Everything a controller needs lives here
 * (DESIGN.md rule 1).
 */
export interface TrialRecord {
  number: number;
  hash: string;
  candidate: Candidate;
  state: TrialState;
  metrics?: TrialMetrics;
  /** self-exits: the shallow exits of a COMPLETE trial, each a point of its own (1-based: after block `exit`). */
  exits?: ExitRecord[];
}

/** One shallow exit of a trial, measured as a student. */
export interface ExitRecord {
  exit: number;
  metrics: TrialMetrics;
}
