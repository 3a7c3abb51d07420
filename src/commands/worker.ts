import type { Log } from '../core/log';
import { serveQueues } from '../runtime/queue-worker';
import { parseQueueUrl } from '../runtime/queue-url';

export interface WorkerOptions {
  queue: string;
  workers?: number;
  dataDir: string;
  memoryLimitMb?: number;
  stallTimeoutSec?: number;
}

/**
 * `kdsearch worker`: runs the trials of every search that enqueues them on
 * this Redis, until Ctrl-C (a trial it was running is then taken by
 * another worker).
 */
export async function workerCommand(opts: WorkerOptions, log: Log): Promise<{ trials: number }> {
  const url = parseQueueUrl(opts.queue);
  const abort = new AbortController();
  const onSignal = (signal: string) => {
    if (abort.signal.aborted) return;
    log(`${signal}: stopping; a running trial goes back to the queue for another worker`);
    abort.abort();
  };
  const sigint = () => onSignal('SIGINT');
  const sigterm = () => onSignal('SIGTERM');
  process.on('SIGINT', sigint);
  process.on('SIGTERM', sigterm);
  try {
    return await serveQueues({ url, workers: opts.workers, dataDir: opts.dataDir, memoryLimitMb: opts.memoryLimitMb, stallTimeoutSec: opts.stallTimeoutSec, signal: abort.signal, log });
  } finally {
    process.off('SIGINT', sigint);
    process.off('SIGTERM', sigterm);
  }
}
