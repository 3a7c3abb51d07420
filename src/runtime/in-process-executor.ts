import type { TrialOutcome } from '../core/outcome';
import { parseOutcome } from '../core/outcome';
import type { RunHooks, TrialExecutor } from './executor';
import { executeTask } from './execute-task';
import type { TrialTask } from './task';

/**
 * Runs trials in this thread, one at a time, through the same executeTask a
 * worker runs: fast tests of the search loop, and a debugger-friendly path.
 * No resource limits: those are the Piscina pool's.
 */
export class InProcessExecutor implements TrialExecutor {
  readonly concurrency = 1;

  async run(task: TrialTask, hooks: RunHooks): Promise<TrialOutcome> {
    if (hooks.signal.aborted) return { ok: false, code: 'INTERRUPTED', message: 'the search was stopped' };
    // Through structured cloning and back, as a worker's outcome would come.
    return parseOutcome(structuredClone(await executeTask(task, hooks.onEpoch)));
  }

  async close(): Promise<void> {}
}
