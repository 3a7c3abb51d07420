import { KdError, errorCodeOf } from '../core/errors';
import { sha256 } from '../core/hash';
import type { Log } from '../core/log';
import { CONTROLLER_NAMES, createController } from '../search/controllers';
import type { ControllerName } from '../search/controllers';
import { loadSearchSpace } from '../space/load';
import type { Experiment, Store } from '../store/store';
import type { TrialExecutor } from './executor';
import { checkFingerprints, setUpTrials } from './prepare-run';
import type { TrialRunSetup } from './prepare-run';
import { runSearchLoop } from './search-loop';
import type { SearchEvent } from './search-loop';
import { STALE_GRACE_MS, isStale } from './stale';
import type { BackendChoice } from '../core/backends';

/** What names an experiment to start or resume, as the CLI gives it. */
export interface ExperimentRequest {
  /** A new search: the space file. Absent for `resume`. */
  spaceFile?: string;
  name?: string;
  controller?: ControllerName;
  seed?: number;
  trials?: number;
  allowSpaceChange: boolean;
  backend: BackendChoice;
  dataDir: string;
  /** Stale RUNNING trials (heartbeat older than this) are run again. */
  graceMs?: number;
}

export interface OpenedExperiment {
  experiment: Experiment;
  setup: TrialRunSetup;
  resumed: boolean;
}

/** A dataset or teacher error of a space's run says which file and field named what failed. */
function namingTheSpaceField(err: unknown, spaceFile: string): unknown {
  const code = errorCodeOf(err);
  const field = code?.startsWith('DATASET_') ? 'dataset' : code?.startsWith('TEACHER_') ? 'teacher' : undefined;
  return field && code ? new KdError(code, `${spaceFile}, field "${field}": ${(err as Error).message}`) : err;
}

function defaultName(spaceName: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${spaceName}-${stamp}`;
}

/** The settings a resume may not change; the space file only with --allow-space-change. */
function refuseConflicts(existing: Experiment, req: ExperimentRequest, givenText: string | undefined): void {
  if (givenText !== undefined && sha256(givenText) !== existing.spaceHash && !req.allowSpaceChange) {
    throw new KdError(
      'EXPERIMENT_CONFLICT',
      `${req.spaceFile} changed since experiment "${existing.name}" began (from ${existing.spaceFile}); resuming would mix two spaces. ` +
        `Start a new experiment with another --name, or pass --allow-space-change to continue with the stored space.`,
    );
  }
  if (req.controller && req.controller !== existing.controller) {
    throw new KdError('EXPERIMENT_CONFLICT', `experiment "${existing.name}" uses --controller ${existing.controller}, not ${req.controller}`);
  }
  if (req.seed !== undefined && req.seed !== existing.seed) {
    throw new KdError('EXPERIMENT_CONFLICT', `experiment "${existing.name}" uses --seed ${existing.seed}, not ${req.seed}`);
  }
}

/**
 * Creates the experiment, or reopens it for a resume (DESIGN.md rules 5 and
 * 7): settings that contradict the stored ones, or a teacher or dataset
 * whose content changed, are refused before anything is written; then
 * RUNNING trials left by a stopped process go back to WAITING. Trials of a
 * live process are left alone: the search loop waits for them.
 */
export async function openExperiment(store: Store, req: ExperimentRequest, log: Log): Promise<OpenedExperiment> {
  const existing = req.name ? store.findExperiment(req.name) : undefined;
  // The space file is read once: it is either the new experiment's space or checked against the stored one.
  const given = req.spaceFile ? loadSearchSpace(req.spaceFile) : undefined;
  if (!existing && !given) throw new KdError('EXPERIMENT_NOT_FOUND', `no experiment named "${req.name}" in ${store.path}`);
  if (existing) {
    refuseConflicts(existing, req, given?.text);
    log(`resuming experiment "${existing.name}" (${existing.controller}, seed ${existing.seed})`);
  }
  const space = existing ? existing.space : given!.space;
  const spaceFile = existing ? existing.spaceFile : req.spaceFile!;
  const setup = await setUpTrials({ space, backend: req.backend, dataDir: req.dataDir, describeTeacher: !existing, latency: { ...space.latency, references: existing?.latencyReferences, legacyMediumMs: existing?.legacyLatencyReferenceMs } }, log).catch((err: unknown) => {
    throw namingTheSpaceField(err, spaceFile);
  });
  if (!existing) {
    const experiment = store.createExperiment({
      name: req.name ?? defaultName(space.name),
      spaceText: given!.text,
      space,
      spaceHash: sha256(given!.text),
      spaceFile: req.spaceFile!,
      controller: req.controller ?? 'nsga2',
      seed: req.seed ?? 0,
      plannedTrials: req.trials ?? space.trials,
      teacher: setup.teacherInfo!,
      teacherFingerprint: setup.teacherFingerprint,
      datasetFingerprint: setup.datasetFingerprint,
      dataset: setup.dataset,
      latencyReferences: setup.latencyReferences,
    });
    return { experiment, setup, resumed: false };
  }
  checkFingerprints(existing, setup);
  if (!existing.latencyReferences && setup.latencyReferences) store.setLatencyReferences(existing.id, setup.latencyReferences);
  const stale = store.runningTrials(existing).filter((t) => isStale(t, { graceMs: req.graceMs ?? STALE_GRACE_MS, runningHere: () => false }));
  const requeued = store.requeueRunning(existing, stale);
  if (requeued.length) log(`trials ${requeued.join(', ')} were left RUNNING by a stopped process; they run again`);
  store.setExperimentStatus(existing.id, 'running', req.trials ?? existing.plannedTrials);
  return { experiment: store.getExperiment(existing.name), setup, resumed: true };
}

/**
 * Runs an opened experiment to its planned trials on an executor. The
 * experiment is marked finished only when no trial is WAITING or RUNNING;
 * an abort marks it stopped with its in-flight trials back to WAITING.
 */
export async function runExperiment(opts: {
  store: Store;
  opened: OpenedExperiment;
  executor: TrialExecutor;
  backend: BackendChoice;
  signal: AbortSignal;
  graceMs?: number;
  onEvent?: (event: SearchEvent) => void;
}): Promise<{ stopped: boolean; experiment: Experiment }> {
  const { store, executor } = opts;
  const exp = opts.opened.experiment;
  const controllerName = CONTROLLER_NAMES.find((c) => c === exp.controller);
  if (!controllerName) throw new KdError('STORE_CORRUPT', `experiment "${exp.name}": unknown controller "${exp.controller}"`);
  const { setup } = opts.opened;
  const result = await runSearchLoop({
    store,
    experiment: exp,
    controller: createController(controllerName),
    spaceContext: setup.spaceContext,
    executor,
    data: setup.data,
    teacher: setup.teacher,
    backend: opts.backend,
    latencyReferences: setup.latencyReferences,
    trials: exp.plannedTrials,
    signal: opts.signal,
    graceMs: opts.graceMs,
    onEvent: opts.onEvent,
  });
  if (result.stopped) {
    store.setExperimentStatus(exp.id, 'stopped');
    return { stopped: true, experiment: store.getExperiment(exp.name) };
  }
  const unfinished = store.unfinishedCount(exp);
  if (unfinished > 0) throw new KdError('INTERNAL', `the search loop ended with ${unfinished} trials of "${exp.name}" not finished`);
  store.setExperimentStatus(exp.id, 'finished');
  return { stopped: false, experiment: store.getExperiment(exp.name) };
}
