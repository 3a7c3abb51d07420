import { mkdirSync } from 'node:fs';
import type { DeviceRecord, DeviceTiming } from '../core/device';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { KdError, formatIssues } from '../core/errors';
import type { Candidate } from '../space/candidate';
import { candidateSchema, familyOf } from '../space/candidate';
import { searchSpaceSchema } from '../space/schema';
import type { SearchSpace } from '../space/schema';
import { MIGRATIONS } from './migrations';
import { readJson } from './read-json';
import { datasetInfoSchema } from '../core/dataset-spec';
import type { DatasetInfo } from '../core/dataset-spec';
import { latencyCalibrationSchema, layersSchema, metricsSchema, sizeEstimateSchema, teacherInfoSchema } from '../core/metrics';
import type { LatencyCalibration, LayerSummary, TeacherInfo, TrialMetrics, SizeEstimate } from '../core/metrics';
import { weightManifestSchema } from '../core/weights';
import type { WeightManifest } from '../core/weights';
import { prescreenRecordSchema } from '../space/history';
import type { PrescreenRecord, TrialRecord } from '../space/history';
import { TRIAL_STATES } from '../core/trial-state';
import type { TrialState } from '../core/trial-state';
import type { EpochRecord } from '../core/epoch';
import { checkpointManifestSchema, checkpointSchema } from '../core/checkpoint';
import type { Checkpoint } from '../core/checkpoint';

export type ExperimentStatus = 'running' | 'stopped' | 'finished';

const KNOWN_STATES: ReadonlySet<string> = new Set(TRIAL_STATES);

export interface TrialStateRow {
  id: number;
  experimentId: number;
  number: number;
  state: TrialState;
}

export interface Experiment {
  id: number;
  name: string;
  spaceText: string;
  space: SearchSpace;
  spaceHash: string;
  spaceFile: string;
  controller: string;
  seed: number;
  plannedTrials: number;
  teacher: TeacherInfo;
  teacherFingerprint: string;
  datasetFingerprint: string;
  /** Absent for experiments stored before it was recorded. */
  dataset?: DatasetInfo;
  /** The reference networks' times its latencies are placed between (model/latency-reference.ts); absent for experiments stored before. */
  latencyReferences?: LatencyCalibration;
  /** Experiments stored by versions 5 to 8 only: the medium reference's time, which their latencies were scaled to alone. */
  legacyLatencyReferenceMs?: number;
  status: ExperimentStatus;
  createdAt: string;
  updatedAt: string;
}

export interface NewExperiment extends Omit<Experiment, 'id' | 'status' | 'createdAt' | 'updatedAt' | 'legacyLatencyReferenceMs'> {}

export interface ExperimentSummary {
  name: string;
  status: ExperimentStatus;
  plannedTrials: number;
  complete: number;
  failed: number;
  pruned: number;
  running: number;
  waiting: number;
  bestAccuracy: number | null;
  createdAt: string;
  lastActivity: string;
}

export interface TrialDetail extends TrialRecord {
  family: string;
  estimate: SizeEstimate;
  layers?: LayerSummary[];
  errorCode?: string;
  error?: string;
  backend?: string;
  seconds?: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  curve: EpochRecord[];
}

/** The from-scratch twin of a trial (alpha = 0, same seeds and epochs). */
export interface Baseline {
  accuracy: number;
  floatAccuracy: number;
  seconds: number;
  backend: string;
  createdAt: string;
}

export interface StoredWeights {
  topology: object;
  manifest: WeightManifest;
  data: Buffer;
}

/** A shallow exit as completeTrial stores it. */
export interface StoredExit {
  exit: number;
  metrics: TrialMetrics;
  layers: LayerSummary[];
  weights: StoredWeights;
}

interface ExitRow {
  exit: number;
  metrics_json: string;
}

interface RungRow {
  epoch: number;
  metrics_json: string;
}

/** A trial's rows in the tables beside it that its record carries. */
interface Related {
  exits?: ExitRow[];
  rungs?: RungRow[];
}

const now = () => new Date().toISOString();

interface ExperimentRow {
  id: number;
  name: string;
  space_text: string;
  space_json: string;
  space_hash: string;
  space_file: string;
  controller: string;
  seed: number;
  planned_trials: number;
  teacher_json: string;
  teacher_fingerprint: string;
  dataset_fingerprint: string;
  dataset_json: string | null;
  latency_reference_ms: number | null;
  latency_references_json: string | null;
  status: ExperimentStatus;
  created_at: string;
  updated_at: string;
}

interface TrialRow {
  id: number;
  number: number;
  hash: string;
  family: string;
  candidate_json: string;
  estimate_json: string;
  state: TrialState;
  metrics_json: string | null;
  layers_json: string | null;
  error_code: string | null;
  error: string | null;
  backend: string | null;
  owner: string | null;
  seconds: number | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  heartbeat_at: string | null;
  prescreen_json: string | null;
}

/**
 * The only SQL in kdsearch (DESIGN.md rule 9). WAL mode lets the report read
 * while a search writes; every JSON column is validated when read back.
 */
export class Store {
  readonly db: Database.Database;
  readonly path: string;

  private constructor(db: Database.Database, path: string) {
    this.db = db;
    this.path = path;
  }

  /** Opens (creating and migrating) the database; `readonly` never writes. */
  static open(path: string, opts: { readonly?: boolean } = {}): Store {
    if (path !== ':memory:' && !opts.readonly) mkdirSync(dirname(path), { recursive: true });
    let db: Database.Database;
    try {
      db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
    } catch (err) {
      throw new KdError('EXPERIMENT_NOT_FOUND', `${path}: cannot open the database (${(err as Error).message})`);
    }
    db.pragma('busy_timeout = 10000');
    db.pragma('foreign_keys = ON');
    if (!opts.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
    }
    const store = new Store(db, path);
    if (!opts.readonly) store.migrate();
    return store;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
    const applied = new Set((this.db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>).map((r) => r.version));
    for (const m of MIGRATIONS) {
      if (applied.has(m.version)) continue;
      // outside the transaction: SQLite ignores this pragma inside one
      if (m.rebuildsTables) this.db.pragma('foreign_keys = OFF');
      try {
        this.db.transaction(() => {
          this.db.exec(m.sql);
          if (m.rebuildsTables) {
            const broken = this.db.pragma('foreign_key_check') as unknown[];
            if (broken.length) throw new KdError('STORE_CORRUPT', `${this.path}: migration ${m.version} would leave ${broken.length} rows with a dangling reference`);
          }
          this.db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(m.version, now());
        })();
      } finally {
        if (m.rebuildsTables) this.db.pragma('foreign_keys = ON');
      }
    }
  }

  schemaVersion(): number {
    const row = this.db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null } | undefined;
    return row?.v ?? 0;
  }

  // ---- experiments ----

  createExperiment(e: NewExperiment): Experiment {
    const t = now();
    const info = this.db
      .prepare(
        `INSERT INTO experiments (name, space_text, space_json, space_hash, space_file, controller, seed, planned_trials,
           teacher_json, teacher_fingerprint, dataset_fingerprint, dataset_json, latency_references_json, status, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)`,
      )
      .run(e.name, e.spaceText, JSON.stringify(e.space), e.spaceHash, e.spaceFile, e.controller, e.seed, e.plannedTrials,
        JSON.stringify(e.teacher), e.teacherFingerprint, e.datasetFingerprint, e.dataset ? JSON.stringify(e.dataset) : null,
        e.latencyReferences ? JSON.stringify(e.latencyReferences) : null, t, t);
    return this.experimentById(Number(info.lastInsertRowid))!;
  }

  private toExperiment(r: ExperimentRow): Experiment {
    const where = `experiment "${r.name}"`;
    return {
      id: r.id,
      name: r.name,
      spaceText: r.space_text,
      space: readJson(searchSpaceSchema, r.space_json, `${where}, space`),
      spaceHash: r.space_hash,
      spaceFile: r.space_file,
      controller: r.controller,
      seed: r.seed,
      plannedTrials: r.planned_trials,
      teacher: readJson(teacherInfoSchema, r.teacher_json, `${where}, teacher`),
      teacherFingerprint: r.teacher_fingerprint,
      datasetFingerprint: r.dataset_fingerprint,
      ...(r.dataset_json ? { dataset: readJson(datasetInfoSchema, r.dataset_json, `${where}, dataset`) } : {}),
      ...(r.latency_reference_ms !== null ? { legacyLatencyReferenceMs: r.latency_reference_ms } : {}),
      ...(r.latency_references_json ? { latencyReferences: readJson(latencyCalibrationSchema, r.latency_references_json, `${where}, latency references`) } : {}),
      status: r.status,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    };
  }

  private experimentById(id: number): Experiment | undefined {
    const r = this.db.prepare('SELECT * FROM experiments WHERE id = ?').get(id) as ExperimentRow | undefined;
    return r && this.toExperiment(r);
  }

  findExperiment(name: string): Experiment | undefined {
    const r = this.db.prepare('SELECT * FROM experiments WHERE name = ?').get(name) as ExperimentRow | undefined;
    return r && this.toExperiment(r);
  }

  getExperiment(name: string): Experiment {
    const e = this.findExperiment(name);
    if (!e) throw new KdError('EXPERIMENT_NOT_FOUND', `no experiment named "${name}" in ${this.path}`);
    return e;
  }

  setExperimentStatus(id: number, status: ExperimentStatus, plannedTrials?: number): void {
    if (plannedTrials !== undefined) {
      this.db.prepare('UPDATE experiments SET status = ?, planned_trials = ?, updated_at = ? WHERE id = ?').run(status, plannedTrials, now(), id);
    } else {
      this.db.prepare('UPDATE experiments SET status = ?, updated_at = ? WHERE id = ?').run(status, now(), id);
    }
  }

  /** An experiment stored before three references gets them on its first resume (its later trials are placed between them); never replaced. */
  setLatencyReferences(id: number, references: LatencyCalibration): void {
    this.db.prepare('UPDATE experiments SET latency_references_json = ?, updated_at = ? WHERE id = ? AND latency_references_json IS NULL').run(JSON.stringify(references), now(), id);
  }

  listExperiments(): ExperimentSummary[] {
    const rows = this.db
      .prepare(
        `SELECT e.name, e.status, e.planned_trials, e.created_at,
           MAX(e.updated_at, COALESCE(MAX(t.finished_at), ''), COALESCE(MAX(t.heartbeat_at), ''), COALESCE(MAX(t.created_at), '')) AS last_activity,
           SUM(t.state = 'COMPLETE') AS complete, SUM(t.state = 'FAILED') AS failed, SUM(t.state = 'PRUNED') AS pruned,
           SUM(t.state = 'RUNNING') AS running, SUM(t.state = 'WAITING') AS waiting,
           MAX(CASE WHEN t.state = 'COMPLETE' THEN json_extract(t.metrics_json, '$.accuracy') END) AS best_accuracy
         FROM experiments e LEFT JOIN trials t ON t.experiment_id = e.id
         GROUP BY e.id ORDER BY e.created_at DESC, e.id DESC`,
      )
      .all() as Array<Record<string, unknown>>;
    return rows.map((r) => ({
      name: r.name as string,
      status: r.status as ExperimentStatus,
      plannedTrials: r.planned_trials as number,
      complete: (r.complete as number) ?? 0,
      failed: (r.failed as number) ?? 0,
      pruned: (r.pruned as number) ?? 0,
      running: (r.running as number) ?? 0,
      waiting: (r.waiting as number) ?? 0,
      bestAccuracy: (r.best_accuracy as number | null) ?? null,
      createdAt: r.created_at as string,
      lastActivity: r.last_activity as string,
    }));
  }

  /** Every experiment, newest first, in one query. */
  experiments(): Experiment[] {
    const rows = this.db.prepare('SELECT * FROM experiments ORDER BY created_at DESC, id DESC').all() as ExperimentRow[];
    return rows.map((r) => this.toExperiment(r));
  }

  // ---- trials ----

  private toRecord(r: TrialRow, experimentName: string, { exits = [], rungs = [] }: Related = {}): TrialRecord {
    const where = `experiment "${experimentName}", trial ${r.number}`;
    return {
      number: r.number,
      hash: r.hash,
      candidate: readJson(candidateSchema, r.candidate_json, `${where}, candidate`),
      state: r.state,
      metrics: r.metrics_json ? readJson(metricsSchema, r.metrics_json, `${where}, metrics`) : undefined,
      ...(exits.length ? { exits: exits.map((x) => ({ exit: x.exit, metrics: readJson(metricsSchema, x.metrics_json, `${where}, exit ${x.exit} metrics`) })) } : {}),
      ...(rungs.length ? { rungs: rungs.map((g) => ({ epoch: g.epoch, metrics: readJson(metricsSchema, g.metrics_json, `${where}, rung at epoch ${g.epoch}`) })) } : {}),
      ...(r.prescreen_json ? { prescreen: readJson(prescreenRecordSchema, r.prescreen_json, `${where}, prescreen`) } : {}),
    };
  }

  /**
   * Rows of a table beside trials (trial_exits by exit, trial_rungs by
   * epoch) for an experiment's trials, one or all, by trial number.
   */
  private rowsByTrial<R>(e: Pick<Experiment, 'id'>, table: 'trial_exits' | 'trial_rungs', key: 'exit' | 'epoch', number?: number): Map<number, R[]> {
    const rows = this.db
      .prepare(
        `SELECT t.number, x.${key}, x.metrics_json FROM ${table} x JOIN trials t ON t.id = x.trial_id
         WHERE t.experiment_id = ?${number === undefined ? '' : ' AND t.number = ?'} ORDER BY t.number, x.${key}`,
      )
      .all(...(number === undefined ? [e.id] : [e.id, number])) as Array<R & { number: number }>;
    const byTrial = new Map<number, R[]>();
    for (const r of rows) byTrial.set(r.number, [...(byTrial.get(r.number) ?? []), r]);
    return byTrial;
  }

  /** The exits and rungs of an experiment's trials (one or all). */
  private related(e: Pick<Experiment, 'id'>, number?: number): (n: number) => Related {
    const exits = this.rowsByTrial<ExitRow>(e, 'trial_exits', 'exit', number);
    const rungs = this.rowsByTrial<RungRow>(e, 'trial_rungs', 'epoch', number);
    return (n) => ({ exits: exits.get(n), rungs: rungs.get(n) });
  }

  /** Every trial of an experiment in number order: the controllers' whole input. */
  history(e: Pick<Experiment, 'id' | 'name'>): TrialRecord[] {
    const rows = this.db.prepare('SELECT * FROM trials WHERE experiment_id = ? ORDER BY number').all(e.id) as TrialRow[];
    const related = this.related(e);
    return rows.map((r) => this.toRecord(r, e.name, related(r.number)));
  }

  /** One trial as the controllers see it. */
  trial(e: Pick<Experiment, 'id' | 'name'>, number: number): TrialRecord | undefined {
    const r = this.db.prepare('SELECT * FROM trials WHERE experiment_id = ? AND number = ?').get(e.id, number) as TrialRow | undefined;
    return r && this.toRecord(r, e.name, this.related(e, number)(number));
  }

  /**
   * Every trial's id and state, of one experiment or of all: two integers
   * and a word per row, so a reader can tell cheaply which rows are new or
   * changed since it last looked (finished rows never change).
   */
  trialStates(e?: Pick<Experiment, 'id'>): TrialStateRow[] {
    const sql = `SELECT id, experiment_id, number, state FROM trials${e ? ' WHERE experiment_id = ?' : ''} ORDER BY experiment_id, number`;
    // Arrays, not objects, from SQLite: this runs on every look at a live page.
    const stmt = this.db.prepare(sql).raw(true);
    const raw = (e ? stmt.all(e.id) : stmt.all()) as Array<[number, number, number, TrialState]>;
    return raw.map(([id, experimentId, number, state]) => {
      if (!KNOWN_STATES.has(state)) throw new KdError('STORE_CORRUPT', `trial row ${id}: unknown state "${state}"`);
      return { id, experimentId, number, state };
    });
  }

  /**
   * A digest of the trials' states per experiment (one or all): counts per
   * state and the latest start and finish. Any state change alters it (a
   * claim moves the latest start, a finish the latest finish), so a reader
   * whose digest is unchanged need not look at the rows.
   */
  trialDigests(e?: Pick<Experiment, 'id'>): Map<number, string> {
    const sql = `SELECT experiment_id, state, COUNT(*), MAX(started_at), MAX(finished_at) FROM trials${e ? ' WHERE experiment_id = ?' : ''} GROUP BY experiment_id, state`;
    const stmt = this.db.prepare(sql).raw(true);
    const rows = (e ? stmt.all(e.id) : stmt.all()) as Array<[number, string, number, string | null, string | null]>;
    const out = new Map<number, string>();
    for (const [id, state, n, started, finished] of rows) out.set(id, `${out.get(id) ?? ''}${state}:${n}:${started ?? ''}:${finished ?? ''};`);
    return out;
  }

  /** These trials (by row id, any experiments) with the fields the report shows, in chunks of a few hundred ids per query. */
  trialsForReportByIds(ids: readonly number[]): Array<TrialDetail & { experimentId: number }> {
    const out: Array<TrialDetail & { experimentId: number }> = [];
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const rows = this.db
        .prepare(`SELECT t.*, e.name AS experiment_name FROM trials t JOIN experiments e ON e.id = t.experiment_id WHERE t.id IN (${chunk.map(() => '?').join(',')})`)
        .all(...chunk) as Array<TrialRow & { experiment_id: number; experiment_name: string }>;
      const byTrial = <R>(sql: string) => {
        const map = new Map<number, R[]>();
        for (const x of this.db.prepare(sql).all(...chunk) as Array<R & { trial_id: number }>) map.set(x.trial_id, [...(map.get(x.trial_id) ?? []), x]);
        return map;
      };
      const marks = chunk.map(() => '?').join(',');
      const exits = byTrial<ExitRow>(`SELECT trial_id, exit, metrics_json FROM trial_exits WHERE trial_id IN (${marks}) ORDER BY trial_id, exit`);
      const rungs = byTrial<RungRow>(`SELECT trial_id, epoch, metrics_json FROM trial_rungs WHERE trial_id IN (${marks}) ORDER BY trial_id, epoch`);
      for (const r of rows) {
        out.push({ ...this.toDetail(r, { name: r.experiment_name }, [], { layers: false, exits: exits.get(r.id), rungs: rungs.get(r.id) }), experimentId: r.experiment_id });
      }
    }
    return out;
  }

  nextTrialNumber(e: Pick<Experiment, 'id'>): number {
    const r = this.db.prepare('SELECT MAX(number) AS n FROM trials WHERE experiment_id = ?').get(e.id) as { n: number | null };
    return (r.n ?? -1) + 1;
  }

  /** A new WAITING trial; `prescreen` when a pre-screen chose its candidate. */
  insertTrial(e: Pick<Experiment, 'id'>, number: number, candidate: Candidate, hash: string, estimate: SizeEstimate, prescreen?: PrescreenRecord): void {
    this.db
      .prepare(
        `INSERT INTO trials (experiment_id, number, hash, family, candidate_json, estimate_json, state, created_at, prescreen_json) VALUES (?, ?, ?, ?, ?, ?, 'WAITING', ?, ?)`,
      )
      .run(e.id, number, hash, familyOf(candidate), JSON.stringify(candidate), JSON.stringify(estimate), now(), prescreen ? JSON.stringify(prescreen) : null);
  }

  /** Whether a candidate (by hash) is already a trial of the experiment. */
  hasCandidate(e: Pick<Experiment, 'id'>, hash: string): boolean {
    return this.db.prepare('SELECT 1 FROM trials WHERE experiment_id = ? AND hash = ?').get(e.id, hash) !== undefined;
  }

  /** WAITING trials in number order (left by a stopped run, or just created). */
  waitingTrials(e: Pick<Experiment, 'id'>): number[] {
    return (this.db.prepare(`SELECT number FROM trials WHERE experiment_id = ? AND state = 'WAITING' ORDER BY number`).all(e.id) as Array<{ number: number }>).map(
      (r) => r.number,
    );
  }

  /** Compare-and-set WAITING -> RUNNING: true only when this call changed the row. */
  claimTrial(e: Pick<Experiment, 'id'>, number: number, owner: string): boolean {
    const t = now();
    const info = this.db
      .prepare(`UPDATE trials SET state = 'RUNNING', owner = ?, started_at = ?, heartbeat_at = ? WHERE experiment_id = ? AND number = ? AND state = 'WAITING'`)
      .run(owner, t, t, e.id, number);
    return info.changes === 1;
  }

  heartbeat(e: Pick<Experiment, 'id'>, owner: string): void {
    this.db.prepare(`UPDATE trials SET heartbeat_at = ? WHERE experiment_id = ? AND state = 'RUNNING' AND owner = ?`).run(now(), e.id, owner);
  }

  /** RUNNING trials with their owner and the age of its last heartbeat (Infinity when it never beat). */
  runningTrials(e: Pick<Experiment, 'id'>): Array<{ number: number; owner: string | null; heartbeatAgeMs: number }> {
    const rows = this.db.prepare(`SELECT number, owner, heartbeat_at FROM trials WHERE experiment_id = ? AND state = 'RUNNING' ORDER BY number`).all(e.id) as TrialRow[];
    const t = Date.now();
    return rows.map((r) => ({ number: r.number, owner: r.owner, heartbeatAgeMs: r.heartbeat_at ? t - Date.parse(r.heartbeat_at) : Infinity }));
  }

  /** How many trials are not finished (WAITING, RUNNING or PAUSED): an experiment is finished only at 0. */
  unfinishedCount(e: Pick<Experiment, 'id'>): number {
    const r = this.db.prepare(`SELECT COUNT(*) AS n FROM trials WHERE experiment_id = ? AND state IN ('WAITING', 'RUNNING', 'PAUSED')`).get(e.id) as { n: number };
    return r.n;
  }

  /**
   * These RUNNING trials go back to WAITING, their partial curve removed,
   * each only if its owner is still the one given (compare-and-set: a trial
   * that finished or changed hands meanwhile stays as it is).
   */
  requeueRunning(e: Pick<Experiment, 'id'>, trials: ReadonlyArray<{ number: number; owner: string | null }>): number[] {
    const rows: Array<Pick<TrialRow, 'id' | 'number'>> = [];
    for (const t of trials) {
      const r = this.db
        .prepare(`SELECT id, number FROM trials WHERE experiment_id = ? AND number = ? AND state = 'RUNNING' AND owner IS ?`)
        .get(e.id, t.number, t.owner) as Pick<TrialRow, 'id' | 'number'> | undefined;
      if (r) rows.push(r);
    }
    return this.requeue(rows);
  }

  /** In-flight trials of this process go back to WAITING (a clean stop). */
  requeueOwned(e: Pick<Experiment, 'id'>, owner: string): number[] {
    const rows = this.db.prepare(`SELECT id, number FROM trials WHERE experiment_id = ? AND state = 'RUNNING' AND owner = ?`).all(e.id, owner) as TrialRow[];
    return this.requeue(rows);
  }

  private requeue(rows: Array<Pick<TrialRow, 'id' | 'number'>>): number[] {
    const done: number[] = [];
    this.db.transaction(() => {
      for (const r of rows) {
        const info = this.db
          .prepare(`UPDATE trials SET state = 'WAITING', owner = NULL, started_at = NULL, heartbeat_at = NULL WHERE id = ? AND state = 'RUNNING'`)
          .run(r.id);
        if (info.changes === 1) {
          // the partial leg's epochs; a continued trial keeps those up to its checkpoint
          this.db.prepare('DELETE FROM epochs WHERE trial_id = ? AND epoch > COALESCE((SELECT epoch FROM trial_checkpoints WHERE trial_id = ?), 0)').run(r.id, r.id);
          done.push(r.number);
        }
      }
    })();
    return done;
  }

  private trialId(e: Pick<Experiment, 'id'>, number: number): number {
    const r = this.db.prepare('SELECT id FROM trials WHERE experiment_id = ? AND number = ?').get(e.id, number) as { id: number } | undefined;
    if (!r) throw new KdError('INTERNAL', `no trial ${number} in experiment ${e.id}`);
    return r.id;
  }

  recordEpoch(e: Pick<Experiment, 'id'>, number: number, r: EpochRecord): void {
    const id = this.trialId(e, number);
    this.db
      .prepare('INSERT OR REPLACE INTO epochs (trial_id, epoch, loss, kd_loss, ce_loss, val_accuracy, seconds) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(id, r.epoch, r.loss, r.kdLoss, r.ceLoss, r.valAccuracy, r.seconds);
    this.db.prepare(`UPDATE trials SET heartbeat_at = ? WHERE id = ? AND state = 'RUNNING'`).run(now(), id);
  }

  /** RUNNING -> COMPLETE with metrics and weights, in one transaction. */
  completeTrial(
    e: Pick<Experiment, 'id'>,
    number: number,
    r: { metrics: TrialMetrics; layers: LayerSummary[]; backend: string; seconds: number; curve: EpochRecord[]; weights: StoredWeights; exits?: StoredExit[] },
  ): void {
    this.db.transaction(() => {
      const id = this.trialId(e, number);
      const info = this.db
        .prepare(
          // a trial that ran in legs: its time is every leg's
          `UPDATE trials SET state = 'COMPLETE', metrics_json = ?, layers_json = ?, backend = ?,
             seconds = ? + (SELECT COALESCE(SUM(seconds), 0) FROM trial_rungs WHERE trial_id = ?), finished_at = ?, heartbeat_at = NULL
           WHERE id = ? AND state = 'RUNNING'`,
        )
        .run(JSON.stringify(r.metrics), JSON.stringify(r.layers), r.backend, r.seconds, id, now(), id);
      if (info.changes !== 1) throw new KdError('INTERNAL', `trial ${number} was not RUNNING when it completed`);
      this.db.prepare('DELETE FROM trial_checkpoints WHERE trial_id = ?').run(id);
      const insert = this.db.prepare('INSERT OR REPLACE INTO epochs (trial_id, epoch, loss, kd_loss, ce_loss, val_accuracy, seconds) VALUES (?, ?, ?, ?, ?, ?, ?)');
      for (const c of r.curve) insert.run(id, c.epoch, c.loss, c.kdLoss, c.ceLoss, c.valAccuracy, c.seconds);
      this.db
        .prepare('INSERT INTO weights (trial_id, topology_json, manifest_json, data) VALUES (?, ?, ?, ?)')
        .run(id, JSON.stringify(r.weights.topology), JSON.stringify(r.weights.manifest), r.weights.data);
      const exit = this.db.prepare('INSERT INTO trial_exits (trial_id, exit, metrics_json, layers_json, topology_json, manifest_json, data) VALUES (?, ?, ?, ?, ?, ?, ?)');
      for (const x of r.exits ?? []) {
        exit.run(id, x.exit, JSON.stringify(x.metrics), JSON.stringify(x.layers), JSON.stringify(x.weights.topology), JSON.stringify(x.weights.manifest), x.weights.data);
      }
    })();
  }

  /** RUNNING (or WAITING) -> FAILED or PRUNED, keeping the reason; a checkpoint it had is dropped. */
  finishWithoutResult(e: Pick<Experiment, 'id'>, number: number, state: 'FAILED' | 'PRUNED', r: { code: string; message: string; backend?: string; seconds?: number }): void {
    this.db.transaction(() => {
      const info = this.db
        .prepare(
          `UPDATE trials SET state = ?, error_code = ?, error = ?, backend = COALESCE(?, backend), seconds = ?, finished_at = ?, heartbeat_at = NULL
           WHERE experiment_id = ? AND number = ? AND state IN ('RUNNING', 'WAITING')`,
        )
        .run(state, r.code, r.message, r.backend ?? null, r.seconds ?? null, now(), e.id, number);
      if (info.changes !== 1) throw new KdError('INTERNAL', `trial ${number} was already finished`);
      this.db.prepare('DELETE FROM trial_checkpoints WHERE trial_id = ?').run(this.trialId(e, number));
    })();
  }

  /**
   * RUNNING -> PAUSED at a rung, in one transaction: its metrics there, this
   * leg's epochs and the checkpoint it continues from (replacing the last).
   */
  pauseTrial(
    e: Pick<Experiment, 'id'>,
    number: number,
    r: { epoch: number; metrics: TrialMetrics; backend: string; seconds: number; curve: EpochRecord[]; checkpoint: Checkpoint },
  ): void {
    this.db.transaction(() => {
      const id = this.trialId(e, number);
      const info = this.db.prepare(`UPDATE trials SET state = 'PAUSED', backend = ?, owner = NULL, heartbeat_at = NULL WHERE id = ? AND state = 'RUNNING'`).run(r.backend, id);
      if (info.changes !== 1) throw new KdError('INTERNAL', `trial ${number} was not RUNNING when it paused`);
      this.db.prepare('INSERT INTO trial_rungs (trial_id, epoch, metrics_json, backend, seconds, created_at) VALUES (?, ?, ?, ?, ?, ?)').run(id, r.epoch, JSON.stringify(r.metrics), r.backend, r.seconds, now());
      const insert = this.db.prepare('INSERT OR REPLACE INTO epochs (trial_id, epoch, loss, kd_loss, ce_loss, val_accuracy, seconds) VALUES (?, ?, ?, ?, ?, ?, ?)');
      for (const c of r.curve) insert.run(id, c.epoch, c.loss, c.kdLoss, c.ceLoss, c.valAccuracy, c.seconds);
      const { data, ...manifest } = r.checkpoint;
      this.db
        .prepare('INSERT OR REPLACE INTO trial_checkpoints (trial_id, epoch, manifest_json, data) VALUES (?, ?, ?, ?)')
        .run(id, r.checkpoint.epoch, JSON.stringify(manifest), Buffer.from(data));
    })();
  }

  /** PAUSED -> WAITING (compare-and-set): promoted past its rung, it continues from its checkpoint. */
  promoteTrial(e: Pick<Experiment, 'id'>, number: number): boolean {
    const info = this.db.prepare(`UPDATE trials SET state = 'WAITING', started_at = NULL WHERE experiment_id = ? AND number = ? AND state = 'PAUSED'`).run(e.id, number);
    return info.changes === 1;
  }

  /** Every PAUSED trial -> PRUNED (the search ended before promoting them), their checkpoints dropped, their rungs kept. */
  prunePaused(e: Pick<Experiment, 'id'>, message: (rungEpoch: number) => string): number[] {
    const pruned: number[] = [];
    this.db.transaction(() => {
      const rows = this.db
        .prepare(`SELECT t.id, t.number, (SELECT MAX(epoch) FROM trial_rungs g WHERE g.trial_id = t.id) AS rung FROM trials t WHERE t.experiment_id = ? AND t.state = 'PAUSED' ORDER BY t.number`)
        .all(e.id) as Array<{ id: number; number: number; rung: number | null }>;
      for (const r of rows) {
        this.db
          .prepare(`UPDATE trials SET state = 'PRUNED', error_code = 'TRIAL_PRUNED', error = ?, seconds = (SELECT COALESCE(SUM(seconds), 0) FROM trial_rungs WHERE trial_id = ?), finished_at = ? WHERE id = ? AND state = 'PAUSED'`)
          .run(message(r.rung ?? 0), r.id, now(), r.id);
        this.db.prepare('DELETE FROM trial_checkpoints WHERE trial_id = ?').run(r.id);
        pruned.push(r.number);
      }
    })();
    return pruned;
  }

  /** The checkpoint a paused (or promoted) trial continues from, validated; undefined when it has none. */
  checkpoint(e: Pick<Experiment, 'id' | 'name'>, number: number): Checkpoint | undefined {
    const r = this.db
      .prepare('SELECT c.manifest_json, c.data FROM trial_checkpoints c JOIN trials t ON t.id = c.trial_id WHERE t.experiment_id = ? AND t.number = ?')
      .get(e.id, number) as { manifest_json: string; data: Buffer } | undefined;
    if (!r) return undefined;
    const where = `experiment "${e.name}", trial ${number}, checkpoint`;
    const manifest = readJson(checkpointManifestSchema, r.manifest_json, where);
    // a copy into its own ArrayBuffer: the Buffer may be a view of a larger one
    const data = new Uint8Array(r.data).slice().buffer;
    const parsed = checkpointSchema.safeParse({ ...manifest, data });
    if (!parsed.success) throw new KdError('STORE_CORRUPT', `${where} does not match its schema\n${formatIssues(parsed.error.issues)}`);
    return parsed.data;
  }

  trialDetail(e: Pick<Experiment, 'id' | 'name'>, number: number): TrialDetail | undefined {
    const r = this.db.prepare('SELECT * FROM trials WHERE experiment_id = ? AND number = ?').get(e.id, number) as TrialRow | undefined;
    if (!r) return undefined;
    const curve = (this.db.prepare('SELECT * FROM epochs WHERE trial_id = ? ORDER BY epoch').all(r.id) as Array<Record<string, number>>).map((c) => ({
      epoch: c.epoch,
      loss: c.loss,
      kdLoss: c.kd_loss,
      ceLoss: c.ce_loss,
      valAccuracy: c.val_accuracy,
      seconds: c.seconds,
    }));
    return this.toDetail(r, e, curve, { layers: true, ...this.related(e, number)(number) });
  }

  private toDetail(r: TrialRow, e: Pick<Experiment, 'name'>, curve: EpochRecord[], opts: { layers: boolean } & Related = { layers: true }): TrialDetail {
    const where = `experiment "${e.name}", trial ${r.number}`;
    return {
      ...this.toRecord(r, e.name, opts),
      family: r.family,
      estimate: readJson(sizeEstimateSchema, r.estimate_json, `${where}, estimate`),
      layers: r.layers_json && opts.layers ? readJson(layersSchema, r.layers_json, `${where}, layers`) : undefined,
      errorCode: r.error_code ?? undefined,
      error: r.error ?? undefined,
      backend: r.backend ?? undefined,
      seconds: r.seconds ?? undefined,
      createdAt: r.created_at,
      startedAt: r.started_at ?? undefined,
      finishedAt: r.finished_at ?? undefined,
      curve,
    };
  }

  recordBaseline(e: Pick<Experiment, 'id'>, number: number, b: Omit<Baseline, 'createdAt'>): void {
    this.db
      .prepare('INSERT OR REPLACE INTO baselines (trial_id, accuracy, float_accuracy, seconds, backend, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(this.trialId(e, number), b.accuracy, b.floatAccuracy, b.seconds, b.backend, now());
  }

  /**
   * A device's timings of an experiment's students, in one transaction
   * (all or nothing). Every timed trial must be a COMPLETE trial of the
   * experiment; the device gets a new id each time it posts.
   */
  recordDeviceTimings(e: Pick<Experiment, 'id' | 'name'>, device: { name: string; userAgent: string }, timings: readonly DeviceTiming[]): number {
    return this.db.transaction(() => {
      const ids = timings.map((t) => {
        const r = this.db.prepare("SELECT id FROM trials WHERE experiment_id = ? AND number = ? AND state = 'COMPLETE'").get(e.id, t.trial) as { id: number } | undefined;
        if (!r) throw new KdError('USAGE', `experiment "${e.name}" has no complete trial ${t.trial}`);
        return r.id;
      });
      const deviceId = Number(
        this.db.prepare('INSERT INTO devices (experiment_id, name, user_agent, created_at) VALUES (?, ?, ?, ?)').run(e.id, device.name, device.userAgent, now()).lastInsertRowid,
      );
      const insert = this.db.prepare('INSERT OR REPLACE INTO device_timings (device_id, trial_id, median_ms, p10_ms, p90_ms, runs) VALUES (?, ?, ?, ?, ?, ?)');
      timings.forEach((t, i) => insert.run(deviceId, ids[i], t.medianMs, t.p10Ms, t.p90Ms, t.runs));
      return deviceId;
    })();
  }

  /** The devices that timed an experiment's students, oldest first, each with its timings by trial number. */
  devices(e: Pick<Experiment, 'id'>): DeviceRecord[] {
    const devices = this.db.prepare('SELECT id, name, user_agent, created_at FROM devices WHERE experiment_id = ? ORDER BY id').all(e.id) as Array<{ id: number; name: string; user_agent: string; created_at: string }>;
    const rows = this.db
      .prepare('SELECT d.device_id, t.number, d.median_ms, d.p10_ms, d.p90_ms, d.runs FROM device_timings d JOIN trials t ON t.id = d.trial_id WHERE t.experiment_id = ?')
      .all(e.id) as Array<{ device_id: number; number: number; median_ms: number; p10_ms: number; p90_ms: number; runs: number }>;
    return devices.map((d) => ({
      id: d.id,
      name: d.name,
      userAgent: d.user_agent,
      createdAt: d.created_at,
      timings: new Map(rows.filter((r) => r.device_id === d.id).map((r) => [r.number, { trial: r.number, medianMs: r.median_ms, p10Ms: r.p10_ms, p90Ms: r.p90_ms, runs: r.runs }])),
    }));
  }

  /** From-scratch twins by trial number. */
  baselines(e: Pick<Experiment, 'id'>): Map<number, Baseline> {
    const rows = this.db
      .prepare(
        `SELECT t.number, b.accuracy, b.float_accuracy, b.seconds, b.backend, b.created_at FROM baselines b JOIN trials t ON t.id = b.trial_id WHERE t.experiment_id = ?`,
      )
      .all(e.id) as Array<{ number: number; accuracy: number; float_accuracy: number; seconds: number; backend: string; created_at: string }>;
    return new Map(rows.map((r) => [r.number, { accuracy: r.accuracy, floatAccuracy: r.float_accuracy, seconds: r.seconds, backend: r.backend, createdAt: r.created_at }]));
  }

  /** A trial's stored weights, or with `exit` those of one of its shallow exits. */
  trialWeights(e: Pick<Experiment, 'id' | 'name'>, number: number, exit?: number): StoredWeights | undefined {
    const r = (
      exit === undefined
        ? this.db.prepare('SELECT w.topology_json, w.manifest_json, w.data FROM weights w JOIN trials t ON t.id = w.trial_id WHERE t.experiment_id = ? AND t.number = ?').get(e.id, number)
        : this.db
            .prepare('SELECT x.topology_json, x.manifest_json, x.data FROM trial_exits x JOIN trials t ON t.id = x.trial_id WHERE t.experiment_id = ? AND t.number = ? AND x.exit = ?')
            .get(e.id, number, exit)
    ) as { topology_json: string; manifest_json: string; data: Buffer } | undefined;
    if (!r) return undefined;
    const where = `experiment "${e.name}", trial ${number}${exit === undefined ? '' : `, exit ${exit}`}`;
    let topology: object;
    try {
      topology = JSON.parse(r.topology_json);
    } catch (err) {
      throw new KdError('STORE_CORRUPT', `${where}, topology: ${(err as Error).message}`);
    }
    return { topology, manifest: readJson(weightManifestSchema, r.manifest_json, `${where}, weights manifest`), data: r.data };
  }

}
