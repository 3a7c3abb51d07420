import { KdError } from '../errors';
import type { Log } from '../distill/teacher';
import type { BackendChoice } from '../model/backend';
import { PiscinaExecutor } from '../runtime/piscina-executor';
import { OWNER, runSearchLoop } from '../runtime/search-loop';
import type { SearchLoopOptions } from '../runtime/search-loop';
import { shareData } from '../runtime/shared-data';
import { createController } from '../search/controllers';
import type { ControllerName } from '../search/controllers';
import { frontOf } from '../search/objectives';
import { loadSearchSpace } from '../space/load';
import type { SearchSpace } from '../space/schema';
import type { SpaceContext } from '../space/sample';
import { sha256 } from '../util/hash';
import { Store } from '../store/store';
import type { Experiment } from '../store/store';
import { prepareRun } from './context';
import { DEFAULT_DATA_DIR, defaultDbPath } from './data-paths';
import { measureLatency } from '../model/latency';
import { BYTES_PER_WEIGHT } from '../model/measure';
import { buildFrontReport } from './front-report';
import type { FrontReport } from './front-report';
import { searchProgress } from './progress';

export interface SearchOptions {
  db: string;
  dataDir: string;
  backend: BackendChoice;
  /** A new search: the space file. Absent for `resume`. */
  spaceFile?: string;
  name?: string;
  controller?: ControllerName;
  seed?: number;
  trials?: number;
  workers?: number;
  timeLimitSec?: number;
  memoryLimitMb?: number;
  allowSpaceChange: boolean;
  interactive: boolean;
  /** Stale RUNNING trials (heartbeat older than this) are run again. */
  graceMs?: number;
  inject?: SearchLoopOptions['inject'];
}

export const STALE_GRACE_MS = 30_000;

function defaultName(spaceName: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${spaceName}-${stamp}`;
}

/** Is the process that wrote `owner` (host:pid) gone? Only decidable on this host. */
export function ownerIsDead(owner: string): boolean {
  const [host, pidText] = owner.split(':');
  if (host !== OWNER.split(':')[0] || owner === OWNER) return false;
  try {
    process.kill(Number(pidText), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Creates or reopens the experiment, refusing settings that contradict the stored ones. */
type Opened = { kind: 'resume'; exp: Experiment } | { kind: 'new'; spaceFile: string; space: SearchSpace; text: string };

function openExperiment(store: Store, opts: SearchOptions, log: Log): Opened {
  const existing = opts.name ? store.findExperiment(opts.name) : undefined;
  // The space file is read once: it is either the new experiment's space or checked against the stored one.
  const given = opts.spaceFile ? loadSearchSpace(opts.spaceFile) : undefined;
  if (!existing) {
    if (!given) throw new KdError('EXPERIMENT_NOT_FOUND', `no experiment named "${opts.name}" in ${store.path}`);
    return { kind: 'new', spaceFile: opts.spaceFile!, space: given.space, text: given.text };
  }
  if (given) {
    if (sha256(given.text) !== existing.spaceHash && !opts.allowSpaceChange) {
      throw new KdError(
        'EXPERIMENT_CONFLICT',
        `${opts.spaceFile} changed since experiment "${existing.name}" began (from ${existing.spaceFile}); resuming would mix two spaces. ` +
          `Start a new experiment with another --name, or pass --allow-space-change to continue with the stored space.`,
      );
    }
  }
  if (opts.controller && opts.controller !== existing.controller) {
    throw new KdError('EXPERIMENT_CONFLICT', `experiment "${existing.name}" uses --controller ${existing.controller}, not ${opts.controller}`);
  }
  if (opts.seed !== undefined && opts.seed !== existing.seed) {
    throw new KdError('EXPERIMENT_CONFLICT', `experiment "${existing.name}" uses --seed ${existing.seed}, not ${opts.seed}`);
  }
  log(`resuming experiment "${existing.name}" (${existing.controller}, seed ${existing.seed})`);
  return { kind: 'resume', exp: existing };
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
    const opened = openExperiment(store, opts, log);
    let exp: Experiment;
    const space = opened.kind === 'resume' ? opened.exp.space : opened.space;
    const ctx = await prepareRun(
      { dataset: space.dataset, backend: opts.backend, dataDir: opts.dataDir, teacher: space.teacher === 'builtin' ? undefined : space.teacher },
      log,
    );
    if (opened.kind === 'new') {
      exp = store.createExperiment({
        name: opts.name ?? defaultName(space.name),
        spaceText: opened.text,
        space,
        spaceHash: sha256(opened.text),
        spaceFile: opened.spaceFile,
        controller: opts.controller ?? 'nsga2',
        seed: opts.seed ?? 0,
        plannedTrials: opts.trials ?? space.trials,
        teacher: {
          source: ctx.teacher.source,
          accuracy: ctx.teacher.accuracy,
          params: ctx.teacher.params,
          macs: ctx.teacher.macs,
          // The teacher as it ships: float32 weights; timed like every student.
          sizeBytes: ctx.teacher.params * BYTES_PER_WEIGHT.float32,
          latencyMs: (await measureLatency(ctx.teacher.model, ctx.dataset.inputShape)).medianMs,
        },
        teacherFingerprint: ctx.teacher.fingerprint,
        datasetFingerprint: ctx.dataset.fingerprint,
      });
      log(`experiment "${exp.name}": ${exp.controller}, seed ${exp.seed}, ${exp.plannedTrials} trials, stored in ${opts.db}`);
    } else {
      exp = opened.exp;
      if (ctx.teacher.fingerprint !== exp.teacherFingerprint || ctx.dataset.fingerprint !== exp.datasetFingerprint) {
        throw new KdError('EXPERIMENT_CONFLICT', `the teacher or dataset of experiment "${exp.name}" changed since it began; start a new experiment`);
      }
      const requeued = store.requeueStale(exp, { graceMs: opts.graceMs ?? STALE_GRACE_MS, isDead: ownerIsDead });
      if (requeued.length) log(`trials ${requeued.join(', ')} were left RUNNING by a stopped process; they run again`);
      const planned = opts.trials ?? exp.plannedTrials;
      store.setExperimentStatus(exp.id, 'running', planned);
      exp = store.getExperiment(exp.name);
    }
    const spaceContext: SpaceContext = {
      inputShape: ctx.dataset.inputShape,
      numClasses: ctx.dataset.numClasses,
      teacherSpec: ctx.teacher.spec,
      teacherParams: ctx.teacher.params,
      teacherMacs: ctx.teacher.macs,
    };
    const data = shareData(ctx.dataset, ctx.logits);
    const teacher = { spec: ctx.teacher.spec, topology: ctx.teacher.topology as Record<string, unknown> };
    ctx.teacher.model.dispose();
    executor = new PiscinaExecutor({ workers: opts.workers, timeLimitSec: opts.timeLimitSec, memoryLimitMb: opts.memoryLimitMb });
    log(`workers: ${executor.concurrency}`);
    const history = store.history(exp);
    const finished = history.filter((t) => t.state !== 'WAITING' && t.state !== 'RUNNING');
    const currentExp = exp;
    const progress = searchProgress({
      planned: exp.plannedTrials,
      done: finished.length,
      failed: finished.filter((t) => t.state === 'FAILED').length,
      interactive: opts.interactive,
      log,
      frontSize: () => frontOf(currentExp.space, store.history(currentExp)).length,
    });
    let result: Awaited<ReturnType<typeof runSearchLoop>>;
    try {
      result = await runSearchLoop({
        store,
        experiment: exp,
        controller: createController(exp.controller as ControllerName),
        spaceContext,
        executor,
        data,
        teacher,
        backend: opts.backend,
        trials: exp.plannedTrials,
        signal: abort.signal,
        onEvent: progress.onEvent,
        inject: opts.inject,
      });
    } finally {
      progress.stop();
    }
    if (result.stopped) {
      store.setExperimentStatus(exp.id, 'stopped');
      throw new KdError('INTERRUPTED', `search stopped; nothing is lost. Resume with: ${resumeCommand(exp.name, opts)}`);
    }
    store.setExperimentStatus(exp.id, 'finished');
    const final = store.getExperiment(exp.name);
    return buildFrontReport(final, store.history(final));
  } finally {
    process.off('SIGINT', sigint);
    process.off('SIGTERM', sigterm);
    await executor?.close();
    store.close();
  }
}

/** `kdsearch front NAME`: the current front, read from the store only. */
export function frontCommand(opts: { db: string; name: string }): FrontReport {
  const store = Store.open(opts.db, { readonly: true });
  try {
    const exp = store.getExperiment(opts.name);
    return buildFrontReport(exp, store.history(exp));
  } finally {
    store.close();
  }
}

/** The command that resumes an experiment with the same data and database, naming only what differs from the defaults. */
function resumeCommand(name: string, opts: { db: string; dataDir: string }): string {
  const dataDir = opts.dataDir !== DEFAULT_DATA_DIR ? ` --data-dir ${opts.dataDir}` : '';
  const db = opts.db !== defaultDbPath(opts.dataDir) ? ` --db ${opts.db}` : '';
  return `kdsearch resume ${name}${dataDir}${db}`;
}
