import { architectureSummary } from '../space/student';
import { frontOf, hypervolumeCurve } from '../search/objectives';
import type { Baseline, Experiment, ExperimentSummary, TrialDetail } from '../store/store';

export interface TrialRow {
  number: number;
  state: string;
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
  teacher: Experiment['teacher'];
  trials: TrialRow[];
  hypervolume: Array<{ trial: number; hypervolume: number }>;
  counts: Record<string, number>;
}

/** Everything the experiment page draws; also served as JSON for live updates. */
export function experimentData(exp: Experiment, trials: TrialDetail[], baselines: Map<number, Baseline>): ExperimentData {
  const front = new Set(frontOf(exp.space, trials).map((t) => t.number));
  const counts: Record<string, number> = { WAITING: 0, RUNNING: 0, COMPLETE: 0, FAILED: 0, PRUNED: 0 };
  for (const t of trials) counts[t.state]++;
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
      kdGain: t.metrics && baselines.has(t.number) ? t.metrics.accuracy - baselines.get(t.number)!.accuracy : null,
      onFront: front.has(t.number),
      error: t.error ? `[${t.errorCode}] ${t.error}` : null,
    })),
    hypervolume: hypervolumeCurve(exp.space, trials),
    counts,
  };
}

export function experimentListRows(list: ExperimentSummary[], frontSizes: Map<string, number>) {
  return list.map((e) => ({ ...e, frontSize: frontSizes.get(e.name) ?? 0 }));
}

/** JSON safe to put inside a <script> element. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}
