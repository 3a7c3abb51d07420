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
  /** Rungs (successive halving): the trial measured at each rung it reached, by epoch. */
  rungs?: RungRecord[];
}

/** A trial at a rung: measured as a student after `epoch` epochs (what promotion ranks). */
export interface RungRecord {
  epoch: number;
  metrics: TrialMetrics;
}

/** One shallow exit of a trial, measured as a student. */
export interface ExitRecord {
  exit: number;
  metrics: TrialMetrics;
}
