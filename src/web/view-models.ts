import type { DatasetInfo } from '../core/dataset-spec';
import type { DeviceRecord } from '../core/device';
import { frontOf, hypervolumeCurve, tradeOffOn } from '../search/objectives';
import { describeLatencyModel, experimentLatencyModel } from '../search/latency-model';
import { describePrescreen, prescreenAgreement } from '../search/prescreen';
import { builtinSpecOf } from '../model/teacher-arch';
import { distillationGain } from '../core/metrics';
import type { TeacherInfo, TrialMetrics } from '../core/metrics';
import { TRIAL_STATES } from '../core/trial-state';
import type { TrialState } from '../core/trial-state';
import { MAXIMISED, OBJECTIVE_METRICS } from '../space/schema';
import type { ObjectiveMetric } from '../space/schema';
import { architectureSummary } from '../space/student';
import type { Baseline, Experiment, ExperimentSummary, TrialDetail } from '../store/store';
import { scriptJson } from './escape';
import type { ExperimentSnapshot } from './report-cache';
import type { ExitRecord, TrialRecord } from '../space/history';
import { exitStudentOf } from '../space/exits';

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
  /** The point's key in the page's data: the trial number, or "12.1" for exit 1 of trial 12. */
  key: string;
  /** A shallow exit of a self-exits trial (a student of its own), or null for the trial itself. */
  exit: number | null;
  state: TrialState;
  family: string;
  precision: string;
  arch: string;
  accuracy: number | null;
  /** A PAUSED or PRUNED trial: the epoch of the rung whose metrics the row shows (a full training's otherwise: null). */
  rungEpoch: number | null;
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
    /** Absent for experiments stored before it was recorded. */
    dataset?: DatasetInfo;
    /** Where the students' latency is measured (the space's latency.runtime). */
    latencyRuntime: string;
  };
  teacher: TeacherInfo;
  metrics: MetricView[];
  states: readonly TrialState[];
  counts: Record<TrialState, number>;
  /** What the page sends back as ?since= to learn whether anything changed. */
  version: string;
  /** Every front member: trials, then shallow exits (self-exits) on the front. */
  front: TrialRow[];
  /** Dominated COMPLETE trials to plot: all of them up to MAX_PLOTTED_DOMINATED, else evenly spaced by trial number. */
  dominated: TrialRow[];
  dominatedTotal: number;
  failed: TrialRow[];
  failedTotal: number;
  /** For every "x|y" pair of metrics: the keys of the front members that trade off on those two, by x (the staircase a plot joins). */
  staircases: Record<string, string[]>;
  /** The hypervolume after each trial, as a step function: the trials where it changed, and the last. */
  hypervolume: Array<{ trial: number; hypervolume: number }>;
  /** The latency model's held-out error in a line (search/latency-model.ts), fitted on the latest LATENCY_MODEL_TRIALS complete trials. */
  latencyModel: string;
  /** With a pre-screen: its score's rank agreement with final accuracy, in a line. */
  prescreen?: string;
  /** The devices that timed this experiment's students (serve --device-bench), when there are any. */
  devices?: Array<{ id: number; name: string; timed: number }>;
  /** The device whose latencies this data shows, or null for the search's own. */
  device?: { id: number; name: string } | null;
}

/** The report fits the latency model on at most this many of the latest complete trials, so a large experiment's page stays quick. */
export const LATENCY_MODEL_TRIALS = 2000;

/** The most dominated points the plot draws; beyond it, an even sample (the page says how many of how many). */
export const MAX_PLOTTED_DOMINATED = 2000;
export const MAX_PLOTTED_FAILED = 500;

/** The key of a pair of axes in ExperimentData.staircases. */
export const staircaseKey = (x: ObjectiveMetric, y: ObjectiveMetric) => `${x}|${y}`;

/** At most `max` items, evenly spaced, first and order kept. */
function evenSample<T>(items: readonly T[], max: number): T[] {
  if (items.length <= max) return [...items];
  return Array.from({ length: max }, (_, i) => items[Math.floor((i * items.length) / max)]);
}

/** A trial's table row, without what depends on other trials (front membership, baselines): made once per stored row. */
const baseRows = new WeakMap<TrialDetail, Omit<TrialRow, 'kdGain' | 'onFront'>>();
function baseRow(t: TrialDetail): Omit<TrialRow, 'kdGain' | 'onFront'> {
  let row = baseRows.get(t);
  if (!row) {
    const rung = t.metrics ? undefined : t.rungs?.at(-1);
    const m = t.metrics ?? rung?.metrics;
    row = {
      number: t.number,
      key: String(t.number),
      exit: null,
      state: t.state,
      family: t.family,
      precision: t.candidate.student.precision,
      arch: architectureSummary(t.candidate.student),
      accuracy: m?.accuracy ?? null,
      rungEpoch: rung?.epoch ?? null,
      params: m?.params ?? t.estimate.params,
      macs: m?.macs ?? t.estimate.macs,
      sizeBytes: m?.sizeBytes ?? t.estimate.sizeBytes,
      // NaN: a device view's student that device did not time (no latency, never 0).
      latencyMs: Number.isFinite(m?.latencyMs) ? m!.latencyMs : null,
      seconds: t.seconds ?? null,
      temperature: t.candidate.training.temperature,
      alpha: t.candidate.training.alpha,
      epochs: t.candidate.training.epochs,
      scheme: t.candidate.training.scheme,
      qat: t.candidate.student.qat,
      error: t.error ? `[${t.errorCode}] ${t.error}` : null,
    };
    baseRows.set(t, row);
  }
  return row;
}

function rowOf(t: TrialDetail, snapshot: ExperimentSnapshot, baselines: Map<number, Baseline>): TrialRow {
  return { ...baseRow(t), kdGain: gainOf(t, baselines), onFront: snapshot.onFront.has(t.number) };
}

/** A shallow exit's row: the trial's settings, the exit's student and metrics. */
function exitRowOf(t: TrialDetail, exit: ExitRecord, onFront: boolean): TrialRow {
  const m = exit.metrics;
  const student = exitStudentOf(t.candidate, exit.exit);
  return {
    ...baseRow(t),
    key: `${t.number}.${exit.exit}`,
    exit: exit.exit,
    arch: architectureSummary(student),
    accuracy: m.accuracy,
    params: m.params,
    macs: m.macs,
    sizeBytes: m.sizeBytes,
    latencyMs: Number.isFinite(m.latencyMs) ? m.latencyMs : null,
    kdGain: null,
    onFront,
  };
}

function gainOf(t: TrialRecord, baselines: Map<number, Baseline>): number | null {
  const b = baselines.get(t.number);
  return t.metrics && b ? distillationGain(t.metrics.accuracy, b.accuracy) : null;
}

/** The version a live page compares: the trials' and the baselines'. */
export function dataVersion(snapshot: ExperimentSnapshot, baselines: Map<number, Baseline>): string {
  return `${snapshot.version}:${baselines.size}`;
}

/** The page data of a snapshot, and its script-safe JSON, kept while the snapshot and the baselines stay the same. */
const dataMemo = new WeakMap<ExperimentSnapshot, { version: string; data: ExperimentData }>();
const jsonMemo = new WeakMap<ExperimentData, string>();

/** Everything the experiment page's plots draw; also served as JSON for live updates. */
export function experimentData(snapshot: ExperimentSnapshot, baselines: Map<number, Baseline>): ExperimentData {
  const version = dataVersion(snapshot, baselines);
  const memo = dataMemo.get(snapshot);
  if (memo?.version === version) return memo.data;
  const data = buildExperimentData(snapshot, baselines);
  dataMemo.set(snapshot, { version, data });
  return data;
}

/** experimentData as JSON safe inside a <script> element, made once per version. */
export function dataJson(data: ExperimentData): string {
  let json = jsonMemo.get(data);
  if (json === undefined) {
    json = scriptJson(data);
    jsonMemo.set(data, json);
  }
  return json;
}

function buildExperimentData(snapshot: ExperimentSnapshot, baselines: Map<number, Baseline>): ExperimentData {
  const exp = snapshot.experiment;
  // the front's points, trials and exits, as the plot draws them
  const exitOnFront = new Set(snapshot.frontExits.map((e) => `${e.trial.number}.${e.exit}`));
  const exitRows = snapshot.trials.flatMap((t) => (t.state === 'COMPLETE' ? (t.exits ?? []).map((x) => exitRowOf(t, x, exitOnFront.has(`${t.number}.${x.exit}`))) : []));
  const frontPoints = [
    ...snapshot.front.map((t) => ({ number: t.number, key: String(t.number), metrics: t.metrics })),
    ...snapshot.frontExits.map((e) => ({ number: e.trial.number, key: `${e.trial.number}.${e.exit}`, metrics: e.trial.exits!.find((x) => x.exit === e.exit)!.metrics })),
  ];
  const staircases: Record<string, string[]> = {};
  for (const x of OBJECTIVE_METRICS) {
    for (const y of OBJECTIVE_METRICS) if (x !== y) staircases[staircaseKey(x, y)] = tradeOffOn(frontPoints, x, y).map((p) => p.key);
  }
  const dominated = snapshot.trials.filter((t) => t.state === 'COMPLETE' && !snapshot.onFront.has(t.number));
  const dominatedExits = exitRows.filter((r) => !r.onFront);
  const failed = snapshot.trials.filter((t) => t.state === 'FAILED');
  const curve = snapshot.curve;
  const steps = curve.filter((s, i) => i === 0 || i === curve.length - 1 || s.hypervolume !== curve[i - 1].hypervolume);
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
      ...(exp.dataset ? { dataset: exp.dataset } : {}),
      latencyRuntime: exp.space.latency.runtime,
    },
    teacher: exp.teacher,
    metrics: METRICS,
    states: TRIAL_STATES,
    counts: snapshot.counts,
    version: dataVersion(snapshot, baselines),
    front: [...snapshot.front.map((t) => rowOf(t, snapshot, baselines)), ...exitRows.filter((r) => r.onFront)],
    dominated: [...evenSample(dominated, MAX_PLOTTED_DOMINATED).map((t) => rowOf(t, snapshot, baselines)), ...evenSample(dominatedExits, MAX_PLOTTED_DOMINATED)],
    dominatedTotal: dominated.length + dominatedExits.length,
    failed: evenSample(failed, MAX_PLOTTED_FAILED).map((t) => rowOf(t, snapshot, baselines)),
    failedTotal: failed.length,
    staircases,
    hypervolume: steps.map((s) => ({ trial: s.step, hypervolume: s.hypervolume })),
    latencyModel: describeLatencyModel(experimentLatencyModel(exp, builtinSpecOf(exp), snapshot.trials.filter((t) => t.state === 'COMPLETE').slice(-LATENCY_MODEL_TRIALS))),
    prescreen: describePrescreen(prescreenAgreement(snapshot.trials)),
  };
}

/** The columns of the trial table, which the server sorts by. */
export const TABLE_COLUMNS = ['number', 'state', 'family', 'precision', 'arch', 'accuracy', 'params', 'sizeBytes', 'latencyMs', 'scheme', 'kdGain', 'alpha', 'temperature', 'seconds'] as const;
export type TableColumn = (typeof TABLE_COLUMNS)[number];
export const TABLE_PAGE_SIZE = 50;

export interface TableQuery {
  /** 1-based. */
  page: number;
  sort: TableColumn;
  dir: 'asc' | 'desc';
  state?: TrialState;
  /** Words matched in family, precision, architecture, state, scheme and number. */
  q?: string;
  front: boolean;
}

export interface TrialTable {
  query: TableQuery;
  total: number;
  pages: number;
  pageSize: number;
  rows: TrialRow[];
}

/** Sorted orders of a snapshot's trials by (column, direction, baselines), kept while the snapshot lives. */
const orderMemo = new WeakMap<ExperimentSnapshot, Map<string, TrialDetail[]>>();

function sortedTrials(snapshot: ExperimentSnapshot, baselines: Map<number, Baseline>, sort: TableColumn, dir: 'asc' | 'desc'): TrialDetail[] {
  const memoKey = `${sort}:${dir}:${baselines.size}`;
  let orders = orderMemo.get(snapshot);
  if (!orders) orderMemo.set(snapshot, (orders = new Map()));
  const known = orders.get(memoKey);
  if (known) return known;
  const sign = dir === 'asc' ? 1 : -1;
  const valueOf = (t: TrialDetail): number | string | boolean | null =>
    sort === 'kdGain' ? gainOf(t, baselines) : baseRow(t)[sort];
  const keyed = snapshot.trials.map((t) => ({ t, v: valueOf(t) }));
  keyed.sort((a, b) => {
    if (a.v === b.v) return a.t.number - b.t.number;
    if (a.v === null) return 1;
    if (b.v === null) return -1;
    return (a.v < b.v ? -1 : 1) * sign;
  });
  const order = keyed.map((k) => k.t);
  orders.set(memoKey, order);
  return order;
}

/** The words a table filter matches, lower-cased once per stored row. */
const searchText = new WeakMap<TrialDetail, string>();
function textOf(t: TrialDetail): string {
  let text = searchText.get(t);
  if (text === undefined) {
    const r = baseRow(t);
    text = [r.family, r.precision, r.arch, r.state, r.scheme, String(r.number)].join(' ').toLowerCase();
    searchText.set(t, text);
  }
  return text;
}

/** One page of the trial table, filtered and sorted on the server (nulls last either way; ties by trial number). */
export function trialTable(snapshot: ExperimentSnapshot, baselines: Map<number, Baseline>, query: TableQuery): TrialTable {
  const text = query.q?.trim().toLowerCase();
  const matching = sortedTrials(snapshot, baselines, query.sort, query.dir).filter(
    (t) => (!query.state || t.state === query.state) && (!query.front || snapshot.onFront.has(t.number)) && (!text || textOf(t).includes(text)),
  );
  const pages = Math.max(1, Math.ceil(matching.length / TABLE_PAGE_SIZE));
  const page = Math.min(query.page, pages);
  return {
    query: { ...query, page },
    total: matching.length,
    pages,
    pageSize: TABLE_PAGE_SIZE,
    rows: matching.slice((page - 1) * TABLE_PAGE_SIZE, page * TABLE_PAGE_SIZE).map((t) => rowOf(t, snapshot, baselines)),
  };
}

/** The list page's rows: each summary with its front size. */
export function experimentListRows(list: ExperimentSummary[], experiments: Experiment[], snapshots: Map<number, ExperimentSnapshot>) {
  const byName = new Map(experiments.map((e) => [e.name, e]));
  return list.map((e) => {
    const exp = byName.get(e.name);
    return { ...e, frontSize: exp ? (snapshots.get(exp.id)?.front.length ?? 0) : 0 };
  });
}

const SCHEME_NOTES: Record<string, string> = {
  offline: 'fixed teacher',
  online: 'with a teacher-side network trained alongside',
  self: 'its own earlier predictions as targets',
  'self-exits': 'its deepest exit teaching an exit after every earlier block',
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
    exits: (trial.exits ?? []).map((x) => ({
      exit: x.exit,
      arch: architectureSummary(exitStudentOf(trial.candidate, x.exit)),
      metrics: x.metrics,
    })),
    rungs: rungHistory(trial),
    prescreen: trial.prescreen,
  };
}

/** What became of a trial at each rung it reached: promoted (it trained on), or, at its last, paused or pruned there. */
function rungHistory(trial: TrialDetail): Array<{ epoch: number; metrics: TrialMetrics; then: string }> {
  const rungs = trial.rungs ?? [];
  return rungs.map((r, i) => {
    const last = i === rungs.length - 1;
    const then = !last || !['PAUSED', 'PRUNED'].includes(trial.state) ? 'promoted' : trial.state === 'PAUSED' ? 'paused: waits for promotion' : 'pruned';
    return { epoch: r.epoch, metrics: r.metrics, then };
  });
}

/**
 * An experiment as one device sees it: each student's latency is that
 * device's median (serve --device-bench), the front and hypervolume are
 * recomputed over the students it timed, and a complete student it did
 * not time has no latency (shown as not timed, never as zero).
 */
export function onDevice(snapshot: ExperimentSnapshot, device: DeviceRecord): ExperimentSnapshot {
  const runtime = `device: ${device.name}`;
  const trials = snapshot.trials.map((t) => {
    if (t.state !== 'COMPLETE' || !t.metrics) return t;
    const d = device.timings.get(t.number);
    const latency = d ? { latencyMs: d.medianMs, latencyP10Ms: d.p10Ms, latencyP90Ms: d.p90Ms } : { latencyMs: Number.NaN, latencyP10Ms: Number.NaN, latencyP90Ms: Number.NaN };
    // a device times whole trials only: their exits have no latency of that device
    return { ...t, metrics: { ...t.metrics, ...latency, latencyRuntime: runtime }, exits: undefined };
  });
  const timed = trials.filter((t) => t.state !== 'COMPLETE' || device.timings.has(t.number));
  const front = frontOf(snapshot.experiment.space, timed);
  return {
    ...snapshot,
    trials,
    front,
    onFront: new Set(front.map((t) => t.number)),
    frontExits: [],
    curve: hypervolumeCurve(snapshot.experiment.space, timed).map((p) => ({ step: p.trial, hypervolume: p.hypervolume })),
    version: `${snapshot.version}:device-${device.id}`,
  };
}

/** The page's data with the devices to switch to; the same (memoised) object when there are none. */
export function withDevices(data: ExperimentData, devices: readonly DeviceRecord[], device: DeviceRecord | undefined): ExperimentData {
  if (devices.length === 0) return data;
  return {
    ...data,
    devices: devices.map((d) => ({ id: d.id, name: d.name, timed: d.timings.size })),
    device: device ? { id: device.id, name: device.name } : null,
  };
}
