import { KdError } from '../core/errors';
import { DEFAULT_DATA_DIR, defaultDbPath } from '../core/data-dir';
import type { Log } from '../core/log';
import { openExperiment, runExperiment } from '../runtime/experiment';
import type { ExperimentRequest } from '../runtime/experiment';
import { PiscinaExecutor } from '../runtime/piscina-executor';
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
  let executor: PiscinaExecutor | undefined;
  try {
    const opened = await openExperiment(store, opts, log);
    const exp = opened.experiment;
    if (!opened.resumed) log(`experiment "${exp.name}": ${exp.controller}, seed ${exp.seed}, ${exp.plannedTrials} trials, stored in ${opts.db}`);
    executor = new PiscinaExecutor({ workers: opts.workers, timeLimitSec: opts.timeLimitSec, memoryLimitMb: opts.memoryLimitMb });
    log(`workers: ${executor.concurrency}`);
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
    if (result.stopped) throw new KdError('INTERRUPTED', `search stopped; nothing is lost. Resume with: ${resumeCommand(exp.name, opts)}`);
    return buildFrontReport(result.experiment, store.history(result.experiment));
  } finally {
    process.off('SIGINT', sigint);
    process.off('SIGTERM', sigterm);
    await executor?.close();
    store.close();
  }
}

/** The command that resumes an experiment with the same data and database, naming only what differs from the defaults. */
function resumeCommand(name: string, opts: { db: string; dataDir: string }): string {
  const dataDir = opts.dataDir !== DEFAULT_DATA_DIR ? ` --data-dir ${opts.dataDir}` : '';
  const db = opts.db !== defaultDbPath(opts.dataDir) ? ` --db ${opts.db}` : '';
  return `kdsearch resume ${name}${dataDir}${db}`;
}
