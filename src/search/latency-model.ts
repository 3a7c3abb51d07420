import { median, spearman } from '../core/rank';
import type { Candidate } from '../space/candidate';
import type { TrialRecord } from '../space/history';
import { measureSpec } from '../space/measure';
import type { SpaceContext } from '../space/sample';
import type { ConcreteSpec } from '../space/student';

/**
 * A per-layer latency model fitted on an experiment's measured students, so
 * a `maxLatencyMs` violator can be refused before it is trained:
 *
 *   latency = c0 + c1 * layers + c2 * conv MACs + c3 * separable MACs
 *                + c4 * dense MACs + c5 * activation values written
 *
 * a fixed cost per call and per layer (tfjs's dispatch, onnxruntime's node
 * overhead), a cost per multiply-accumulate of each kind of kernel, and a
 * cost per value each layer writes (memory moved). Fitted by least squares
 * on the relative error (each row weighted by 1 / measured), which is what
 * the held-out median absolute percentage error judges; a small ridge keeps
 * it stable on a handful of students.
 */
export const LATENCY_FEATURES = ['call', 'layers', 'convMacs', 'separableMacs', 'denseMacs', 'valuesWritten'] as const;

/** The model is trusted (used before training) at most at this held-out error. */
export const TRUST_MAX_ERROR = 0.1;
const FOLDS = 5;
/** Cross-validation needs two held-out students per fold: below this the model is not judged, so not trusted. */
export const TRUST_MIN_STUDENTS = 2 * FOLDS;
const RIDGE = 1e-6;

/**
 * Features already counted, by candidate object: the report keeps its trial
 * rows across looks, so a refit after each new trial counts only the new
 * ones (2,000 students: 35 ms a fit without this). A candidate object
 * belongs to one experiment, so one dataset shape and teacher.
 */
const counted = new WeakMap<Candidate, number[] | undefined>();

/** The features of a candidate, counted from its spec (undefined: a teacher from disk without a spec). */
export function latencyFeatures(c: Candidate, ctx: SpaceContext): number[] | undefined {
  if (!counted.has(c)) counted.set(c, countFeatures(c, ctx));
  return counted.get(c);
}

function countFeatures(c: Candidate, ctx: SpaceContext): number[] | undefined {
  const spec = c.student.kind === 'teacher' ? ctx.teacherSpec : c.student;
  if (!spec) return undefined;
  const { layers } = measureSpec(spec, ctx.inputShape, ctx.numClasses);
  const sum = (types: string[], f: (l: (typeof layers)[number]) => number) => layers.filter((l) => types.includes(l.type)).reduce((a, l) => a + f(l), 0);
  const values = (l: (typeof layers)[number]) => l.outputShape.reduce((a, b) => a * b, 1);
  // MACs in millions and values in millions: columns of comparable scale for the solver.
  return [
    1,
    layers.length,
    sum(['conv2d'], (l) => l.macs) / 1e6,
    sum(['separable_conv2d'], (l) => l.macs) / 1e6,
    sum(['dense'], (l) => l.macs) / 1e6,
    layers.reduce((a, l) => a + values(l), 0) / 1e6,
  ];
}

export interface LatencyModel {
  coefficients: number[];
  /** Students it was fitted on. */
  n: number;
  /** Cross-validated on held-out students (5 folds): median absolute percentage error and Spearman correlation; undefined below 2 per fold. */
  heldOut?: { medianAbsPercentError: number; spearman: number };
  /** Used to refuse maxLatencyMs violators before training. */
  trusted: boolean;
}

/** Solves (A^T W A + ridge) x = A^T W y by Gaussian elimination with partial pivoting. */
function weightedLeastSquares(rows: readonly number[][], y: readonly number[]): number[] {
  const k = rows[0].length;
  const m = Array.from({ length: k }, () => new Array<number>(k + 1).fill(0));
  rows.forEach((row, r) => {
    const w = 1 / (y[r] * y[r]);
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) m[i][j] += w * row[i] * row[j];
      m[i][k] += w * row[i] * y[r];
    }
  });
  for (let i = 1; i < k; i++) m[i][i] += RIDGE * (1 + m[i][i]);
  for (let col = 0; col < k; col++) {
    let pivot = col;
    for (let r = col + 1; r < k; r++) if (Math.abs(m[r][col]) > Math.abs(m[pivot][col])) pivot = r;
    [m[col], m[pivot]] = [m[pivot], m[col]];
    // A feature no student has (e.g. no separable layers): its coefficient stays 0.
    if (Math.abs(m[col][col]) < 1e-18) continue;
    for (let r = 0; r < k; r++) {
      if (r === col) continue;
      const f = m[r][col] / m[col][col];
      for (let j = col; j <= k; j++) m[r][j] -= f * m[col][j];
    }
  }
  return m.map((row, i) => (Math.abs(row[i]) < 1e-18 ? 0 : row[k] / row[i]));
}

export function predictLatency(model: Pick<LatencyModel, 'coefficients'>, features: readonly number[]): number {
  return features.reduce((a, f, i) => a + f * model.coefficients[i], 0);
}

/** Fits the model on measured points and cross-validates it. */
export function fitLatencyModel(points: ReadonlyArray<{ features: number[]; latencyMs: number }>): LatencyModel {
  const usable = points.filter((p) => p.latencyMs > 0 && Number.isFinite(p.latencyMs));
  if (usable.length < LATENCY_FEATURES.length) return { coefficients: LATENCY_FEATURES.map(() => 0), n: usable.length, trusted: false };
  const fit = (set: typeof usable) => weightedLeastSquares(set.map((p) => p.features), set.map((p) => p.latencyMs));
  const coefficients = fit(usable);
  let heldOut: LatencyModel['heldOut'];
  if (usable.length >= TRUST_MIN_STUDENTS) {
    const predicted = new Array<number>(usable.length);
    for (let fold = 0; fold < FOLDS; fold++) {
      const train = usable.filter((_, i) => i % FOLDS !== fold);
      const c = fit(train);
      usable.forEach((p, i) => {
        if (i % FOLDS === fold) predicted[i] = predictLatency({ coefficients: c }, p.features);
      });
    }
    const errors = usable.map((p, i) => Math.abs(predicted[i] - p.latencyMs) / p.latencyMs);
    heldOut = { medianAbsPercentError: median(errors), spearman: spearman(predicted, usable.map((p) => p.latencyMs)) };
  }
  const trusted = heldOut !== undefined && heldOut.medianAbsPercentError <= TRUST_MAX_ERROR;
  return { coefficients, n: usable.length, heldOut, trusted };
}

/** The model of an experiment's history: its complete trials' measured latencies against their specs' features. */
export function latencyModelOf(history: readonly TrialRecord[], ctx: SpaceContext): LatencyModel {
  const points: Array<{ features: number[]; latencyMs: number }> = [];
  for (const t of history) {
    if (t.state !== 'COMPLETE' || !t.metrics) continue;
    const features = latencyFeatures(t.candidate, ctx);
    if (features) points.push({ features, latencyMs: t.metrics.latencyMs });
  }
  return fitLatencyModel(points);
}

/** The model as `front --json` and the report show it: with its features named. */
export type StoredLatencyModel = LatencyModel & { features: readonly string[] };

/**
 * The latency model of a stored experiment: features come from the specs,
 * which need the dataset's shape (stored with experiments since the dataset
 * line) and, for born-again students, the teacher's spec (the built-in one).
 */
export function experimentLatencyModel(
  exp: { dataset?: { inputShape: number[]; numClasses: number }; teacher: { params: number; macs: number } },
  teacherSpec: ConcreteSpec | undefined,
  history: readonly TrialRecord[],
): StoredLatencyModel | undefined {
  if (!exp.dataset) return undefined;
  const model = latencyModelOf(history, { inputShape: exp.dataset.inputShape, numClasses: exp.dataset.numClasses, teacherSpec, teacherParams: exp.teacher.params, teacherMacs: exp.teacher.macs });
  return { ...model, features: LATENCY_FEATURES };
}

/** One line on the latency model: its held-out error, and whether the search uses it. */
export function describeLatencyModel(model: LatencyModel | undefined): string {
  if (!model?.heldOut) return `latency model: too few measured students to judge (${model?.n ?? 0} of ${TRUST_MIN_STUDENTS})`;
  const { medianAbsPercentError: e, spearman: r } = model.heldOut;
  const use = model.trusted ? 'trusted: maxLatencyMs violators are refused before training' : `not trusted (above ${TRUST_MAX_ERROR * 100}%): maxLatencyMs violators are refused after measuring`;
  return `latency model: held-out median error ${(e * 100).toFixed(1)}%, Spearman ${r.toFixed(2)}, over ${model.n} students; ${use}`;
}
