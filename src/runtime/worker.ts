import type { MessagePort } from 'node:worker_threads';
import Piscina from 'piscina';
import type { TrialOutcome } from '../core/outcome';
import { executeTask } from './execute-task';
import type { HostGateOptions } from '../core/host-gate';
import { QuietGate, useQuietGate } from '../core/quiet-gate';

/**
 * What the pool hands a worker thread: the task (validated inside), the
 * port its epochs go to, and the pool's quiet gate with this run's slot.
 */
export interface WorkerMessage {
  task: unknown;
  progress: MessagePort;
  gate?: { buffer: SharedArrayBuffer; slot: number; host?: HostGateOptions };
}

/** Runs one message's trial, reporting each epoch on its port; closes the port when done. */
export async function runMessage(message: WorkerMessage): Promise<TrialOutcome> {
  useQuietGate(message.gate ? new QuietGate(message.gate.buffer, message.gate.slot, message.gate.host) : undefined);
  try {
    return await executeTask(message.task, (record) => message.progress.postMessage(record));
  } finally {
    useQuietGate(undefined);
    message.progress.close();
  }
}

/** The outcome with its weights buffer moved, not copied, back to the main thread. */
export function moveOutcome(outcome: TrialOutcome): unknown {
  if (!outcome.ok) return outcome;
  if ('screened' in outcome) return outcome;
  const buffers = outcome.paused ? [outcome.checkpoint.data] : [outcome.weights, ...(outcome.exits ?? []).map((e) => e.weights)];
  return Piscina.move({ [Piscina.transferableSymbol]: buffers, [Piscina.valueSymbol]: outcome } as never);
}

/** Piscina worker entry: one trial per message. */
export default async function worker(message: WorkerMessage): Promise<unknown> {
  return moveOutcome(await runMessage(message));
}
