import type { EpochRecord } from '../distill/loop';
import type { TrialOutcome, TrialTask } from './task';

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
  run(task: Omit<TrialTask, 'progress'>, hooks: RunHooks): Promise<TrialOutcome>;
  close(): Promise<void>;
}
