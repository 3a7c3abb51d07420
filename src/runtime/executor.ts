import type { TrialTask } from './task';
import type { EpochRecord } from '../core/epoch';
import type { TrialOutcome } from '../core/outcome';

export interface RunHooks {
  onEpoch: (record: EpochRecord) => void;
  /** Aborting cancels the trial (Ctrl-C); its outcome is then irrelevant. */
  signal: AbortSignal;
}

/**
 * Where trials run. The search loop talks to this seam, not to Piscina
 * (DESIGN.md rule 6): the local pool is one executor, a distributed queue
 * can be another.
 */
export interface TrialExecutor {
  readonly concurrency: number;
  run(task: TrialTask, hooks: RunHooks): Promise<TrialOutcome>;
  /** The search loop has stored the outcome of `task`: an executor that kept it somewhere (a queue) may drop it now. */
  acknowledge?(task: TrialTask): Promise<void>;
  close(): Promise<void>;
}
