import { workerData } from 'node:worker_threads';
import { moveOutcome, runMessage } from '../../src/runtime/worker';
import type { WorkerMessage } from '../../src/runtime/worker';

/** Faults by trial number, given as the pool's workerData: the production task carries none. */
export type Fault = 'throw' | 'oom' | 'hang';
export const FAULT_WORKER = __filename;
const faults: Record<string, Fault> = (workerData as { faults?: Record<string, Fault> } | undefined)?.faults ?? {};

/** A Piscina worker that fails the planned trials as a broken one would, and runs the others as production does. */
export default async function faultWorker(message: WorkerMessage): Promise<unknown> {
  const fault = faults[String((message.task as { trialNumber: number }).trialNumber)];
  if (fault === 'throw') {
    message.progress.close();
    throw new Error('injected failure');
  }
  if (fault === 'hang') await new Promise(() => {});
  if (fault === 'oom') {
    const hog: number[][] = [];
    for (;;) hog.push(new Array(1e6).fill(hog.length));
  }
  return moveOutcome(await runMessage(message));
}
