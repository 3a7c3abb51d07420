import type { MessagePort } from 'node:worker_threads';
import Piscina from 'piscina';
import type { TrialOutcome } from '../core/outcome';
import { executeTask } from './execute-task';

/** What the pool hands a worker thread: the task (validated inside) and the port its epochs go to. */
export interface WorkerMessage {
  task: unknown;
  progress: MessagePort;
}

/** Runs one message's trial, reporting each epoch on its port; closes the port when done. */
export async function runMessage(message: WorkerMessage): Promise<TrialOutcome> {
  try {
    return await executeTask(message.task, (record) => message.progress.postMessage(record));
  } finally {
    message.progress.close();
  }
}

/** The outcome with its weights buffer moved, not copied, back to the main thread. */
export function moveOutcome(outcome: TrialOutcome): unknown {
  if (!outcome.ok) return outcome;
  return Piscina.move({ [Piscina.transferableSymbol]: [outcome.weights], [Piscina.valueSymbol]: outcome } as never);
}

/** Piscina worker entry: one trial per message. */
export default async function worker(message: WorkerMessage): Promise<unknown> {
  return moveOutcome(await runMessage(message));
}
