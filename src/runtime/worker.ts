import Piscina from 'piscina';
import { executeTask } from './execute-task';

/**
 * Piscina worker entry: runs one trial; the weights buffer is moved, not
 * copied, back to the main thread.
 */
export default async function worker(task: unknown) {
  const outcome = await executeTask(task);
  if (!outcome.ok) return outcome;
  return Piscina.move({ [Piscina.transferableSymbol]: [outcome.weights], [Piscina.valueSymbol]: outcome } as never);
}
