import { frontHypervolume, frontMembers } from '../search/objectives';
import { exitStudentOf } from '../space/exits';
import { Store } from '../store/store';
import type { Experiment } from '../store/store';
import { architectureSummary } from '../space/student';
import type { TrialRecord } from '../space/history';
import { describeLatencyModel, experimentLatencyModel } from '../search/latency-model';
import { describePrescreen, prescreenAgreement } from '../search/prescreen';
import type { PrescreenAgreement } from '../search/prescreen';
import type { StoredLatencyModel } from '../search/latency-model';
import { builtinSpecOf } from '../model/teacher-arch';

export interface FrontMember {
  number: number;
  /** A shallow exit of the trial (self-exits; 1-based: after block `exit`), a student of its own; absent for the trial itself. */
  exit?: number;
  family: string;
  scheme: string;
  candidate: TrialRecord['candidate'];
  accuracy: number;
  params: number;
  macs: number;
  sizeBytes: number;
  latencyMs: number;
}

export interface FrontReport {
  experiment: string;
  status: string;
  objectives: string[];
  teacher: { accuracy: number; params: number; source: string };
  front: FrontMember[];
  hypervolume: number;
  trials: Array<{
    number: number;
    state: string;
    family: string;
    accuracy?: number;
    params?: number;
    sizeBytes?: number;
    latencyMs?: number;
    /** With rungs: the trial's metrics at each rung it reached (a PRUNED trial's last ones are all it has). */
    rungs?: Array<{ epoch: number; accuracy: number; sizeBytes: number; latencyMs: number }>;
  }>;
  /** The per-layer latency model fitted on the measured students (search/latency-model.ts), when there are enough. */
  latencyModel?: StoredLatencyModel;
  /** With a pre-screen: how its score ranked the students against their final accuracy. */
  prescreen?: PrescreenAgreement;
}

export function buildFrontReport(exp: Experiment, history: readonly TrialRecord[]): FrontReport {
  return {
    experiment: exp.name,
    status: exp.status,
    objectives: exp.space.objectives,
    teacher: { accuracy: exp.teacher.accuracy, params: exp.teacher.params, source: exp.teacher.source },
    front: frontMembers(exp.space, history).map(({ trial: t, exit, metrics }) => ({
      number: t.number,
      ...(exit === undefined ? {} : { exit }),
      family: t.candidate.genes.family,
      scheme: t.candidate.training.scheme,
      candidate: exit === undefined ? t.candidate : { ...t.candidate, student: exitStudentOf(t.candidate, exit) },
      accuracy: metrics.accuracy,
      params: metrics.params,
      macs: metrics.macs,
      sizeBytes: metrics.sizeBytes,
      latencyMs: metrics.latencyMs,
    })),
    hypervolume: frontHypervolume(exp.space, history),
    latencyModel: experimentLatencyModel(exp, builtinSpecOf(exp), history),
    prescreen: prescreenAgreement(history),
    trials: history.map((t) => ({
      number: t.number,
      state: t.state,
      family: t.candidate.genes.family,
      accuracy: t.metrics?.accuracy,
      params: t.metrics?.params,
      sizeBytes: t.metrics?.sizeBytes,
      latencyMs: t.metrics?.latencyMs,
      ...(t.rungs ? { rungs: t.rungs.map((r) => ({ epoch: r.epoch, accuracy: r.metrics.accuracy, sizeBytes: r.metrics.sizeBytes, latencyMs: r.metrics.latencyMs })) } : {}),
    })),
  };
}

export function formatFrontReport(r: FrontReport): string {
  const counts = r.trials.reduce<Record<string, number>>((acc, t) => ({ ...acc, [t.state]: (acc[t.state] ?? 0) + 1 }), {});
  const lines = [
    `experiment ${r.experiment} (${r.status}): ${r.trials.length} trials (${Object.entries(counts).map(([k, v]) => `${v} ${k.toLowerCase()}`).join(', ')})`,
    `teacher: ${(r.teacher.accuracy * 100).toFixed(2)}% accuracy, ${r.teacher.params} params`,
    `front over ${r.objectives.join(', ')}: ${r.front.length} students, hypervolume ${r.hypervolume.toPrecision(4)}`,
    '      trial  family        scheme      accuracy    params   sizeBytes  latencyMs  student',
  ];
  for (const m of r.front) {
    const id = m.exit === undefined ? String(m.number) : `${m.number} exit ${m.exit}`;
    lines.push(
      `  ${id.padStart(9)}  ${m.family.padEnd(12)}  ${m.scheme.padEnd(10)} ${(m.accuracy * 100).toFixed(2).padStart(8)}% ${String(m.params).padStart(9)} ${String(m.sizeBytes).padStart(11)} ${m.latencyMs.toFixed(3).padStart(10)}  ${architectureSummary(m.candidate.student)}`,
    );
  }
  lines.push(describeLatencyModel(r.latencyModel));
  const prescreen = describePrescreen(r.prescreen);
  if (prescreen) lines.push(prescreen);
  return lines.join('\n');
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
