import { z } from 'zod';
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
  /** The pre-screen that chose this trial's candidate among others (search/prescreen.ts). */
  prescreen?: PrescreenRecord;
}

/** How a pre-screened trial was chosen: its own score, and every proposed candidate's. */
export const prescreenRecordSchema = z.object({
  /** Distillation steps each candidate was scored after. */
  steps: z.number().int().min(1),
  /** This candidate's held-out accuracy after the steps: the score. */
  accuracy: z.number().min(0).max(1),
  /** Its mean distillation term over the steps (null when its screen failed: scored 0). */
  kdLoss: z.number().nullable(),
  /** Its final accuracy as the pick predicted it from the score. */
  predictedAccuracy: z.number(),
  /** Every proposed candidate's score, in the controller's order, and which was picked. */
  scores: z.array(z.object({ hash: z.string(), accuracy: z.number().min(0).max(1) })).min(1),
  picked: z.number().int().min(0),
  /** Wall time of the screens, seconds. */
  seconds: z.number().min(0),
});
export type PrescreenRecord = z.infer<typeof prescreenRecordSchema>;

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
