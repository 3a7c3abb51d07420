import { FINISHED_STATES, TRIAL_STATES } from '../core/trial-state';
import type { TrialState } from '../core/trial-state';
import { frontTrials, referenceVector, trialPoints } from '../search/objectives';
import { FrontProgress } from '../search/running-front';
import type { Experiment, Store, TrialDetail, TrialStateRow } from '../store/store';

/** What a page of one experiment is built from, as of one look at the store. */
export interface ExperimentSnapshot {
  experiment: Experiment;
  /** Every trial, by number. */
  trials: readonly TrialDetail[];
  /** Trials whose own point is on the front, by trial number. */
  front: readonly TrialDetail[];
  onFront: ReadonlySet<number>;
  /** Shallow exits of self-exits trials that are on the front, by trial number then exit. */
  frontExits: ReadonlyArray<{ trial: TrialDetail; exit: number }>;
  /** Hypervolume after each trial, by number. */
  curve: ReadonlyArray<{ step: number; hypervolume: number }>;
  counts: Record<TrialState, number>;
  /** Changes whenever anything the pages show changes: what a live page sends back as ?since=. */
  version: string;
}

interface Entry {
  experimentId: number;
  /** Cached rows by trial number; finished rows never change, so they are read once. */
  rows: TrialDetail[];
  /** Every trial below this number is finished and folded into `progress`. */
  settled: number;
  progress: FrontProgress<TrialDetail>;
  /** Bumped whenever a row is read again: a snapshot of the same generation (and experiment row) is still true. */
  generation: number;
  /** The store's digest of this experiment's trial states when they were last read. */
  digest?: string;
  /** A look in progress (reading rows in chunks): the next one waits for it instead of reading the same rows again. */
  pending?: Promise<unknown>;
  snapshot?: { key: string; value: ExperimentSnapshot };
}

const isFinished = (state: TrialState) => FINISHED_STATES.includes(state);
/** Rows read per query when a page first looks at a large experiment; the event loop gets a turn between chunks. */
const CHUNK = 200;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The report's memory of each experiment (the store is opened read-only):
 * its trials, and its front and hypervolume curve over the finished prefix
 * of trial numbers. Each look reads every trial's state (one cheap query),
 * fetches only the rows that are new or changed state, folds newly finished
 * trials into the front in O(front size) each, and recomputes only the few
 * trials past the finished prefix (those still running, or finished out of
 * order). Reading many rows (a large experiment's first look) goes in chunks
 * that let other requests through; looks run one at a time.
 */
export class ReportCache {
  private readonly entries = new Map<number, Entry>();

  constructor(private readonly store: Store) {}

  /** One experiment, brought up to date. */
  async snapshot(exp: Experiment): Promise<ExperimentSnapshot> {
    const entries = await this.exclusively([exp], () => this.update([exp], (e) => this.store.trialStates(e[0]), this.store.trialDigests(exp)));
    return this.build(exp, entries.get(exp.id)!);
  }

  /** Several experiments (the list page) in a constant number of queries (plus one per few hundred rows not read before). */
  async snapshots(experiments: readonly Experiment[]): Promise<Map<number, ExperimentSnapshot>> {
    const entries = await this.exclusively(experiments, () => this.update(experiments, () => this.store.trialStates(), this.store.trialDigests()));
    return new Map(experiments.map((e) => [e.id, this.build(e, entries.get(e.id)!)]));
  }

  /** Reads the experiments in the background, smallest first, one at a time: pages find them read. */
  async warmUp(experiments: readonly Experiment[], sizes: Map<string, number>): Promise<void> {
    for (const exp of [...experiments].sort((a, b) => (sizes.get(a.name) ?? 0) - (sizes.get(b.name) ?? 0))) await this.snapshot(exp);
  }

  /** Runs `look` once no other look at these experiments is in progress; looks at other experiments go on meanwhile. */
  private async exclusively<T>(experiments: readonly Experiment[], look: () => Promise<T>): Promise<T> {
    const mine = experiments.map((e) => this.entryOf(e));
    for (;;) {
      const busy = mine.find((e) => e.pending);
      if (!busy) break;
      await busy.pending!.catch(() => {});
    }
    const run = look();
    for (const e of mine) e.pending = run;
    try {
      return await run;
    } finally {
      for (const e of mine) if (e.pending === run) e.pending = undefined;
    }
  }

  private entryOf(exp: Experiment): Entry {
    let entry = this.entries.get(exp.id);
    if (!entry) {
      entry = { experimentId: exp.id, rows: [], settled: 0, progress: new FrontProgress(referenceVector(exp.space)), generation: 0 };
      this.entries.set(exp.id, entry);
    }
    return entry;
  }

  private async update(
    experiments: readonly Experiment[],
    readStates: (changed: Experiment[]) => readonly TrialStateRow[],
    digests: Map<number, string>,
  ): Promise<Map<number, Entry>> {
    const entries = new Map(experiments.map((e) => [e.id, this.entryOf(e)]));
    const changed = experiments.filter((e) => entries.get(e.id)!.digest !== (digests.get(e.id) ?? ''));
    if (changed.length === 0) return entries;
    const states = readStates(changed);
    const stale: number[] = [];
    const total = new Map<number, number>();
    for (const s of states) {
      const entry = entries.get(s.experimentId);
      if (!entry) continue;
      total.set(s.experimentId, (total.get(s.experimentId) ?? 0) + 1);
      if (entry.rows[s.number]?.state !== s.state) stale.push(s.id);
    }
    for (let i = 0; i < stale.length; i += CHUNK) {
      if (i > 0) await yieldToEventLoop();
      for (const row of this.store.trialsForReportByIds(stale.slice(i, i + CHUNK))) {
        const entry = entries.get(row.experimentId)!;
        entry.rows[row.number] = row;
        entry.generation++;
      }
    }
    // Only once every changed row is read: a look that failed half-way looks again next time.
    for (const e of changed) entries.get(e.id)!.digest = digests.get(e.id) ?? '';
    for (const exp of changed) {
      const entry = entries.get(exp.id)!;
      // Rows past the end belong to trials that no longer exist (never, in a store that only appends; a guard all the same).
      entry.rows.length = Math.min(entry.rows.length, total.get(exp.id) ?? 0);
      let folded = 0;
      while (entry.settled < entry.rows.length && entry.rows[entry.settled] && isFinished(entry.rows[entry.settled].state)) {
        const t = entry.rows[entry.settled];
        entry.progress.add(t.number, trialPoints(exp.space, t));
        entry.settled++;
        if (++folded % CHUNK === 0) await yieldToEventLoop();
      }
    }
    return entries;
  }

  private build(exp: Experiment, entry: Entry): ExperimentSnapshot {
    const key = [entry.generation, entry.rows.length, exp.status, exp.updatedAt, exp.plannedTrials].join(':');
    if (entry.snapshot?.key === key) return entry.snapshot.value;
    const trials = entry.rows.filter((t) => t !== undefined);
    let progress = entry.progress;
    if (entry.settled < entry.rows.length) {
      progress = entry.progress.fork();
      for (let n = entry.settled; n < entry.rows.length; n++) {
        const t = entry.rows[n];
        if (t) progress.add(t.number, trialPoints(exp.space, t));
      }
    }
    const front = frontTrials(progress.members.filter((p) => p.exit === undefined));
    const frontExits = progress.members
      .filter((p) => p.exit !== undefined)
      .map((p) => ({ trial: p.key, exit: p.exit! }))
      .sort((a, b) => a.trial.number - b.trial.number || a.exit - b.exit);
    const counts = Object.fromEntries(TRIAL_STATES.map((s) => [s, 0])) as Record<TrialState, number>;
    for (const t of trials) counts[t.state]++;
    const value: ExperimentSnapshot = {
      experiment: exp,
      trials,
      front,
      onFront: new Set(front.map((t) => t.number)),
      frontExits,
      curve: progress.curve,
      counts,
      version: `${key}:${TRIAL_STATES.map((s) => counts[s]).join(':')}`,
    };
    entry.snapshot = { key, value };
    return value;
  }
}
