import { legOutcome } from '../core/outcome';
import type { TrialLegOutcome } from '../core/outcome';
import type { TrialExecutor } from './executor';
import type { TrialTask } from './task';

/**
 * Runs a fixed list of tasks on an executor, `executor.concurrency` at a
 * time; each outcome goes to `onOutcome` (in the main thread) as it arrives.
 * An error thrown by `onOutcome` stops the remaining tasks and rejects.
 */
export async function runTasks(opts: {
  executor: TrialExecutor;
  tasks: readonly TrialTask[];
  signal: AbortSignal;
  onOutcome: (task: TrialTask, outcome: TrialLegOutcome) => void;
}): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (next < opts.tasks.length && !failed && !opts.signal.aborted) {
      const task = opts.tasks[next++];
      const outcome = legOutcome(await opts.executor.run(task, { signal: opts.signal, onEpoch: () => {} }));
      try {
        opts.onOutcome(task, outcome);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.executor.concurrency, opts.tasks.length) }, lane));
}
