import { distillationGain } from '../core/metrics';
import type { TeacherInfo } from '../core/metrics';
import { TRIAL_STATES } from '../core/trial-state';
import type { TrialState } from '../core/trial-state';
import { frontOf, hypervolumeCurve, tradeOffOn } from '../search/objectives';
import { MAXIMISED, OBJECTIVE_METRICS } from '../space/schema';
import type { ObjectiveMetric } from '../space/schema';
import { architectureSummary } from '../space/student';
import type { Baseline, Experiment, ExperimentSummary, TrialDetail } from '../store/store';
import type { TrialRecord } from '../space/history';

/**
 * Everything the report's pages show is computed here, on the server, from
 * the store: front membership, the 2-D staircases, labels, the lists of
 * metrics and states, the distillation gain. The page scripts only draw.
 */

const LABELS: Record<ObjectiveMetric, string> = { accuracy: 'accuracy', sizeBytes: 'size (bytes)', latencyMs: 'latency (ms)', params: 'parameters', macs: 'MACs' };

export interface MetricView {
  key: ObjectiveMetric;
  label: string;
  /** "higher is better" or "lower is better", as the axis says it. */
  direction: string;
  maximised: boolean;
}

/** The metrics a chart axis or colour can show, with their labels and directions. */
export const METRICS: MetricView[] = OBJECTIVE_METRICS.map((key) => ({
  key,
  label: LABELS[key],
  maximised: MAXIMISED.has(key),
  direction: MAXIMISED.has(key) ? 'higher is better' : 'lower is better',
}));

export interface TrialRow {
  number: number;
  state: TrialState;
  family: string;
  precision: string;
  arch: string;
  accuracy: number | null;
  params: number;
  macs: number;
  sizeBytes: number;
  latencyMs: number | null;
  seconds: number | null;
  temperature: number;
  alpha: number;
  epochs: number;
  scheme: string;
  qat: boolean;
  /** Accuracy minus that of the from-scratch twin, when `kdsearch baseline` trained one. */
  kdGain: number | null;
  onFront: boolean;
  error: string | null;
}

export interface ExperimentData {
  experiment: {
    name: string;
    status: string;
    controller: string;
    seed: number;
    plannedTrials: number;
    objectives: string[];
    reference: Record<string, number | undefined>;
    spaceFile: string;
    createdAt: string;
    updatedAt: string;
  };
  teacher: TeacherInfo;
  metrics: MetricView[];
  states: readonly TrialState[];
  trials: TrialRow[];
  /** For every "x|y" pair of metrics: the front members that trade off on those two, by x (the staircase a plot joins). */
  staircases: Record<string, number[]>;
  hypervolume: Array<{ trial: number; hypervolume: number }>;
  counts: Record<TrialState, number>;
}

/** The key of a pair of axes in ExperimentData.staircases. */
export const staircaseKey = (x: ObjectiveMetric, y: ObjectiveMetric) => `${x}|${y}`;

function gainOf(t: TrialRecord, baselines: Map<number, Baseline>): number | null {
  const b = baselines.get(t.number);
  return t.metrics && b ? distillationGain(t.metrics.accuracy, b.accuracy) : null;
}

/** Everything the experiment page draws; also served as JSON for live updates. */
export function experimentData(exp: Experiment, trials: TrialDetail[], baselines: Map<number, Baseline>): ExperimentData {
  const front = frontOf(exp.space, trials);
  const onFront = new Set(front.map((t) => t.number));
  const counts = Object.fromEntries(TRIAL_STATES.map((s) => [s, 0])) as Record<TrialState, number>;
  for (const t of trials) counts[t.state]++;
  const staircases: Record<string, number[]> = {};
  for (const x of OBJECTIVE_METRICS) {
    for (const y of OBJECTIVE_METRICS) if (x !== y) staircases[staircaseKey(x, y)] = tradeOffOn(front, x, y).map((t) => t.number);
  }
  return {
    experiment: {
      name: exp.name,
      status: exp.status,
      controller: exp.controller,
      seed: exp.seed,
      plannedTrials: exp.plannedTrials,
      objectives: exp.space.objectives,
      reference: exp.space.reference,
      spaceFile: exp.spaceFile,
      createdAt: exp.createdAt,
      updatedAt: exp.updatedAt,
    },
    teacher: exp.teacher,
    metrics: METRICS,
    states: TRIAL_STATES,
    trials: trials.map((t) => ({
      number: t.number,
      state: t.state,
      family: t.family,
      precision: t.candidate.student.precision,
      arch: architectureSummary(t.candidate.student),
      accuracy: t.metrics?.accuracy ?? null,
      params: t.metrics?.params ?? t.estimate.params,
      macs: t.metrics?.macs ?? t.estimate.macs,
      sizeBytes: t.metrics?.sizeBytes ?? t.estimate.sizeBytes,
      latencyMs: t.metrics?.latencyMs ?? null,
      seconds: t.seconds ?? null,
      temperature: t.candidate.training.temperature,
      alpha: t.candidate.training.alpha,
      epochs: t.candidate.training.epochs,
      scheme: t.candidate.training.scheme,
      qat: t.candidate.student.qat,
      kdGain: gainOf(t, baselines),
      onFront: onFront.has(t.number),
      error: t.error ? `[${t.errorCode}] ${t.error}` : null,
    })),
    staircases,
    hypervolume: hypervolumeCurve(exp.space, trials),
    counts,
  };
}

/** The list page's rows: each summary with its front size, from the experiments and their COMPLETE trials read once. */
export function experimentListRows(list: ExperimentSummary[], experiments: Experiment[], complete: Map<number, TrialRecord[]>) {
  const byName = new Map(experiments.map((e) => [e.name, e]));
  return list.map((e) => {
    const exp = byName.get(e.name);
    return { ...e, frontSize: exp ? frontOf(exp.space, complete.get(exp.id) ?? []).length : 0 };
  });
}

const SCHEME_NOTES: Record<string, string> = {
  offline: 'fixed teacher',
  online: 'with a teacher-side network trained alongside',
  self: 'its own earlier predictions as targets',
};

/** The trial page: the trial, its comparison with the teacher and its from-scratch twin, and how it was trained, in words. */
export function trialPage(exp: Experiment, trial: TrialDetail, baseline: Baseline | undefined) {
  const m = trial.metrics;
  const t = exp.teacher;
  const s = trial.candidate.student;
  return {
    experiment: exp.name,
    trial,
    teacher: t,
    arch: architectureSummary(s),
    versusTeacher: m && {
      accuracyDrop: t.accuracy - m.accuracy,
      compression: t.sizeBytes / m.sizeBytes,
      paramRatio: t.params / m.params,
      speedup: t.latencyMs / m.latencyMs,
    },
    baseline: baseline && m ? { accuracy: baseline.accuracy, gain: distillationGain(m.accuracy, baseline.accuracy) } : undefined,
    schemeNote: SCHEME_NOTES[trial.candidate.training.scheme] ?? '',
    precisionNote: `${s.precision}${s.precision === 'int8' ? ` (${s.quantization})` : ''}${s.qat ? ', quantization-aware training' : s.precision !== 'float32' ? ', post-training quantization' : ''}`,
    hasWeights: trial.state === 'COMPLETE',
    base: `/experiments/${encodeURIComponent(exp.name)}/trials/${trial.number}`,
  };
}
