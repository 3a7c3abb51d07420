import { KdError } from '../core/errors';
import { DEFAULT_DATA_DIR, defaultDbPath } from '../core/data-dir';
import type { Log } from '../core/log';
import { openExperiment, runExperiment } from '../runtime/experiment';
import type { ExperimentRequest } from '../runtime/experiment';
import type { TrialExecutor } from '../runtime/executor';
import { PiscinaExecutor } from '../runtime/piscina-executor';
import { QueueExecutor } from '../runtime/queue-executor';
import { connectRedis } from '../runtime/queue-redis';
import { parseQueueUrl, queueName, redactPassword } from '../runtime/queue-url';
import { frontOf } from '../search/objectives';
import { Store } from '../store/store';
import { buildFrontReport } from './front-report';
import type { FrontReport } from './front-report';
import { searchProgress } from './progress';
import { FINISHED_STATES } from '../core/trial-state';

export interface SearchOptions extends ExperimentRequest {
  db: string;
  workers?: number;
  timeLimitSec?: number;
  memoryLimitMb?: number;
  /** Run trials on workers elsewhere through BullMQ on this Redis (redis://[user:pass@]host:port). */
  queue?: string;
  interactive: boolean;
}

/**
 * `kdsearch search` and `kdsearch resume`: runs (or continues) an experiment
 * and returns its front. Ctrl-C stops cleanly: running trials go back to
 * WAITING and the error says how to resume.
 */
export async function searchCommand(opts: SearchOptions, log: Log): Promise<FrontReport> {
  const store = Store.open(opts.db);
  const abort = new AbortController();
  const onSignal = (signal: string) => {
    if (abort.signal.aborted) return;
    log(`\n${signal}: stopping; running trials go back to WAITING`);
    abort.abort();
  };
  const sigint = () => onSignal('SIGINT');
  const sigterm = () => onSignal('SIGTERM');
  process.on('SIGINT', sigint);
  process.on('SIGTERM', sigterm);
  let executor: TrialExecutor | undefined;
  // set when the queue's Redis goes away: the search stops (trials back to WAITING) and exits with it
  let lost: KdError | undefined;
  try {
    // a malformed URL is refused before anything is opened or written
    const queueUrl = opts.queue === undefined ? undefined : parseQueueUrl(opts.queue);
    // an unreachable Redis is refused before the experiment is created or its trials requeued
    if (queueUrl) (await connectRedis(queueUrl, 'search')).redis.disconnect();
    const opened = await openExperiment(store, opts, log);
    const exp = opened.experiment;
    if (!opened.resumed) log(`experiment "${exp.name}": ${exp.controller}, seed ${exp.seed}, ${exp.plannedTrials} trials, stored in ${opts.db}`);
    if (queueUrl) {
      executor = await QueueExecutor.connect({
        url: queueUrl,
        queue: queueName({ db: opts.db, experiment: exp.name }),
        experiment: exp.name,
        concurrency: opts.workers,
        timeLimitSec: opts.timeLimitSec,
        onLost: (err) => {
          lost = err;
          log(`\n${err.message}; stopping, running trials go back to WAITING`);
          abort.abort();
        },
        log,
      });
      log(`queue: trials go to the workers attached to ${queueUrl.shown} (${opts.workers === undefined ? 'as many at once as they have slots' : `${opts.workers} at once`}); start them with: kdsearch worker --queue ${queueUrl.shown}`);
    } else {
      executor = new PiscinaExecutor({ workers: opts.workers, timeLimitSec: opts.timeLimitSec, memoryLimitMb: opts.memoryLimitMb });
      log(`workers: ${executor.concurrency}`);
    }
    const finished = store.history(exp).filter((t) => FINISHED_STATES.includes(t.state));
    const progress = searchProgress({
      planned: exp.plannedTrials,
      done: finished.length,
      failed: finished.filter((t) => t.state === 'FAILED').length,
      interactive: opts.interactive,
      log,
      frontSize: () => frontOf(exp.space, store.history(exp)).length,
    });
    let result: Awaited<ReturnType<typeof runExperiment>>;
    try {
      result = await runExperiment({ store, opened, executor, backend: opts.backend, signal: abort.signal, graceMs: opts.graceMs, onEvent: progress.onEvent });
    } finally {
      progress.stop();
    }
    if (lost) throw new KdError(lost.code, `${lost.message}. The search stopped; nothing is lost. Resume with: ${resumeCommand(exp.name, opts)}`);
    if (result.stopped) throw new KdError('INTERRUPTED', `search stopped; nothing is lost. Resume with: ${resumeCommand(exp.name, opts)}`);
    if (executor instanceof QueueExecutor) await executor.finish();
    return buildFrontReport(result.experiment, store.history(result.experiment));
  } finally {
    process.off('SIGINT', sigint);
    process.off('SIGTERM', sigterm);
    await executor?.close();
    store.close();
  }
}

/** The command that resumes an experiment with the same data and database, naming only what differs from the defaults. */
function resumeCommand(name: string, opts: { db: string; dataDir: string; queue?: string }): string {
  const dataDir = opts.dataDir !== DEFAULT_DATA_DIR ? ` --data-dir ${opts.dataDir}` : '';
  const db = opts.db !== defaultDbPath(opts.dataDir) ? ` --db ${opts.db}` : '';
  const queue = opts.queue ? ` --queue ${redactPassword(opts.queue)}` : '';
  return `kdsearch resume ${name}${dataDir}${db}${queue}`;
}
