import { z } from 'zod';

/**
 * DESIGN.md rule 5: WAITING -> RUNNING -> COMPLETE | FAILED, and with rungs
 * RUNNING -> PAUSED -> WAITING (promoted) | PRUNED (the search ended
 * first); finished rows never change.
 */
export const TRIAL_STATES = ['WAITING', 'RUNNING', 'PAUSED', 'COMPLETE', 'FAILED', 'PRUNED'] as const;
export const trialStateSchema = z.enum(TRIAL_STATES);
export type TrialState = z.infer<typeof trialStateSchema>;
/** States a trial never leaves. */
export const FINISHED_STATES: readonly TrialState[] = ['COMPLETE', 'FAILED', 'PRUNED'];
