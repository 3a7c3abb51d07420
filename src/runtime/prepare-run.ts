import { loadDataset } from '../datasets/load';
import type { Dataset } from '../datasets/types';
import type { Teacher } from '../distill/teacher';
import { loadTeacher, teacherLogits } from '../distill/teacher';
import type { BackendName } from '../model/backend';
import { initBackend } from '../model/backend';
import { calibrateReferences, describeCalibration, extendLegacyCalibration, latencyReference } from '../model/latency-reference';
import { KdError } from '../core/errors';
import type { Log } from '../core/log';
import type { LatencyCalibration, LatencyEffort, LatencyRuntime, TeacherInfo } from '../core/metrics';
import { storedBytes } from '../space/measure';
import type { SpaceContext } from '../space/sample';
import type { SearchSpace } from '../space/schema';
import type { TeacherArchitecture } from '../space/student';
import type { Experiment } from '../store/store';
import { shareData } from './shared-data';
import type { SharedData } from './task';
import type { BackendChoice } from '../core/backends';
import type { DatasetInfo, DatasetSpec } from '../core/dataset-spec';

export interface CommonOptions {
  dataset: DatasetSpec;
  backend: BackendChoice;
  dataDir: string;
  teacher?: string;
}

export interface RunContext {
  backend: BackendName;
  dataset: Dataset;
  teacher: Teacher;
  /** Teacher logits on the full training split (cached on disk). */
  logits: Float32Array;
}

/** Everything a training command needs before its first student: backend, data, teacher, logits. */
export async function prepareRun(opts: CommonOptions, log: Log): Promise<RunContext> {
  const backend = await initBackend(opts.backend);
  log(`backend: ${backend}`);
  const dataset = await loadDataset(opts.dataset, { dataDir: opts.dataDir, log });
  const names = dataset.classNames ? ` (${dataset.classNames.join(', ')})` : '';
  log(`dataset: ${dataset.source}, ${dataset.train.n} train / ${dataset.test.n} test, input [${dataset.inputShape.join(', ')}], ${dataset.numClasses} classes${names}`);
  const teacher = await loadTeacher({ dataset, dataDir: opts.dataDir, path: opts.teacher, backend, log });
  log(`teacher: ${teacher.source}, ${teacher.params} params, ${(teacher.accuracy * 100).toFixed(2)}% test accuracy`);
  const logits = await teacherLogits({ teacher, dataset, dataDir: opts.dataDir, log });
  return { backend, dataset, teacher, logits };
}

/** What a search (or baseline) run hands every trial, made once from the run's context. */
export interface TrialRunSetup {
  spaceContext: SpaceContext;
  data: SharedData;
  teacher: TeacherArchitecture;
  teacherFingerprint: string;
  datasetFingerprint: string;
  dataset: DatasetInfo;
  /** The teacher as it ships (float32 weights, timed like every student), when asked for: a new experiment stores it. */
  teacherInfo?: TeacherInfo;
  /** With `latency`: the reference networks' times every latency of the run is placed between (the stored ones, or calibrated now). */
  latencyReferences?: LatencyCalibration;
}

/** A new experiment's calibration, or an older one's medium reference extended to three. */
function calibrate(latency: { runtime: LatencyRuntime; effort: LatencyEffort; legacyMediumMs?: number }): Promise<LatencyCalibration> {
  return latency.legacyMediumMs ? extendLegacyCalibration(latency.runtime, latency.legacyMediumMs, latency.effort) : calibrateReferences(latency.runtime, latency.effort);
}

/**
 * Loads the space's dataset and teacher, computes (or reads) the teacher's
 * logits, times the teacher, and shares data and logits with the workers;
 * the teacher model itself is disposed: trials need only its logits and
 * its architecture.
 */
export async function setUpTrials(
  opts: {
    space: Pick<SearchSpace, 'dataset' | 'teacher'>;
    backend: BackendChoice;
    dataDir: string;
    describeTeacher: boolean;
    /**
     * How the run measures latency; `references` is an experiment's stored calibration, calibrated here when absent
     * (in the units of `legacyMediumMs`, the medium reference an older experiment stored alone).
     */
    latency?: { runtime: LatencyRuntime; effort: LatencyEffort; references?: LatencyCalibration; legacyMediumMs?: number };
  },
  log: Log,
): Promise<TrialRunSetup> {
  const ctx = await prepareRun(
    { dataset: opts.space.dataset, backend: opts.backend, dataDir: opts.dataDir, teacher: opts.space.teacher === 'builtin' ? undefined : opts.space.teacher },
    log,
  );
  const { teacher, dataset } = ctx;
  const latency = opts.latency;
  // Calibrated before any worker starts, so nothing else runs on the machine.
  const references = latency && (latency.references ?? (await calibrate(latency)));
  if (latency && !latency.references) log(`latency references: ${describeCalibration(references!)} at this machine's full speed (${latency.runtime})`);
  /** The teacher as the report shows it beside the students: timed as they are. */
  const describe = async (): Promise<TeacherInfo> => {
    const reference = latency && references ? await latencyReference(latency.runtime, references, latency.effort) : undefined;
    const { stats, runtime } = await teacher.latency(dataset.inputShape, { runtime: latency?.runtime, effort: latency?.effort, reference });
    return {
      source: teacher.source,
      accuracy: teacher.accuracy,
      params: teacher.params,
      macs: teacher.macs,
      sizeBytes: storedBytes([{ size: teacher.params, channels: 1 }], 'float32', 'per-tensor'),
      latencyMs: stats.medianMs,
      latencyRuntime: runtime,
    };
  };
  try {
    return {
      spaceContext: {
        inputShape: dataset.inputShape,
        numClasses: dataset.numClasses,
        teacherSpec: teacher.spec,
        teacherParams: teacher.params,
        teacherMacs: teacher.macs,
      },
      data: shareData(dataset, ctx.logits),
      teacher: { spec: teacher.spec, topology: teacher.topology, ...(teacher.unmappable ? { unmappable: teacher.unmappable } : {}) },
      teacherFingerprint: teacher.fingerprint,
      datasetFingerprint: dataset.fingerprint,
      dataset: {
        source: dataset.source,
        inputShape: dataset.inputShape,
        numClasses: dataset.numClasses,
        ...(dataset.classNames ? { classNames: dataset.classNames } : {}),
        trainN: dataset.train.n,
        testN: dataset.test.n,
      },
      teacherInfo: opts.describeTeacher ? await describe() : undefined,
      latencyReferences: references,
    };
  } finally {
    await teacher.dispose();
  }
}

/** A stored experiment runs only on the teacher and data it began with (DESIGN.md rule 7: refused, nothing changed). */
export function checkFingerprints(exp: Pick<Experiment, 'name' | 'teacherFingerprint' | 'datasetFingerprint'>, setup: Pick<TrialRunSetup, 'teacherFingerprint' | 'datasetFingerprint'>): void {
  const changed = [
    setup.teacherFingerprint !== exp.teacherFingerprint ? 'teacher' : undefined,
    setup.datasetFingerprint !== exp.datasetFingerprint ? 'dataset' : undefined,
  ].filter(Boolean);
  if (changed.length) {
    throw new KdError('EXPERIMENT_CONFLICT', `the ${changed.join(' and ')} of experiment "${exp.name}" changed since it began; start a new experiment`);
  }
}
