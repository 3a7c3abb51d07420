/**
 * The real-task part of bench:search: search arms under a fixed wall-clock
 * budget, each run a real `kdsearch search` (2 workers) stopped with SIGINT
 * when its budget is spent, scored by the hypervolume of the front of the
 * trials COMPLETE at each moment (the front holds fully trained students
 * only). Every finished run is appended to a JSON file and skipped when the
 * bench runs again, so the whole bench can be spread over several sittings.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { frontHypervolume } from '../src/search/objectives';
import type { TrialRecord } from '../src/space/history';
import { Store } from '../src/store/store';
import { prescreenAgreement } from '../src/search/prescreen';
import { mean } from './stats';

const CLI = join(__dirname, '..', 'src', 'cli.js');
const ROOT = join(__dirname, '..', '..');

/** What an arm changes in the space: its controller, whether it has rungs, and its pre-screen. */
export interface Arm {
  name: string;
  controller: string;
  rungs: boolean;
  prescreen?: { samples: number; steps: number };
}

export const ARMS: Arm[] = [
  { name: 'nsga2-full', controller: 'nsga2', rungs: false },
  { name: 'nsga2-rungs', controller: 'nsga2', rungs: true },
  { name: 'random-rungs', controller: 'random', rungs: true },
  { name: 'random-full', controller: 'random', rungs: false },
  { name: 'nsga2-rungs-prescreen', controller: 'nsga2', rungs: true, prescreen: { samples: 4, steps: 40 } },
];

/** One run's record in the results file. */
export interface ArmRun {
  arm: string;
  task: string;
  seed: number;
  budgetSec: number;
  fidelity: { minEpochs: number; eta: number } | null;
  /** [seconds since the experiment began, hypervolume of the COMPLETE trials' front by then], a step every time it changed. */
  curve: Array<[number, number]>;
  finalHypervolume: number;
  states: Record<string, number>;
  /** Pre-screened arms: the Spearman correlation of the screen score with the final accuracy over the run's COMPLETE trials, and their number. */
  prescreen?: { samples: number; steps: number; spearman: number | null; trials: number; secondsPerTrial: number };
  finishedAt: string;
}

export interface Task {
  /** The results' key for this task (e.g. quick, fashion). */
  name: string;
  /** The space file the arms start from. */
  space: string;
  /** Changes to it (YAML keys at the top level, replaced). */
  overrides?: Record<string, unknown>;
  /** The arms to run on this task (default: all the bench runs). */
  arms?: string[];
}

/** Writes the arm's space: the task's space with its overrides, and the fidelity when the arm has rungs. */
function armSpace(dir: string, task: Task, arm: Arm, fidelity: { minEpochs: number; eta: number }): string {
  const doc = parse(readFileSync(join(ROOT, task.space), 'utf8')) as Record<string, unknown>;
  Object.assign(doc, task.overrides ?? {});
  if (arm.rungs) doc.fidelity = fidelity;
  else delete doc.fidelity;
  if (arm.prescreen) doc.prescreen = arm.prescreen;
  else delete doc.prescreen;
  doc.name = `${task.name}-${arm.name}`;
  const file = join(dir, `${task.name}-${arm.name}.yaml`);
  writeFileSync(file, stringify(doc));
  return file;
}

/** The hypervolume of the COMPLETE trials' front after each finish, in seconds since the experiment was created. */
export function hypervolumeOverTime(store: Store, name: string): Array<[number, number]> {
  const exp = store.getExperiment(name);
  const t0 = Date.parse(exp.createdAt);
  const history = store.history(exp);
  const done = history
    .filter((t) => t.state === 'COMPLETE')
    .map((t) => ({ t, at: (Date.parse(store.trialDetail(exp, t.number)!.finishedAt!) - t0) / 1000 }))
    .sort((a, b) => a.at - b.at);
  const curve: Array<[number, number]> = [[0, 0]];
  const seen: TrialRecord[] = [];
  for (const { t, at } of done) {
    seen.push(t);
    const hv = frontHypervolume(exp.space, seen);
    if (hv !== curve[curve.length - 1][1]) curve.push([at, hv]);
  }
  return curve;
}

/** The curve's value at time t (a step function). */
export function valueAt(curve: ReadonlyArray<readonly [number, number]>, t: number): number {
  let v = 0;
  for (const [at, hv] of curve) if (at <= t) v = hv;
  return v;
}

/** The first time the curve reaches `target` (Infinity when it never does). */
export function timeToReach(curve: ReadonlyArray<readonly [number, number]>, target: number): number {
  return curve.find(([, hv]) => hv >= target - 1e-12)?.[0] ?? Infinity;
}

export function readRuns(file: string): ArmRun[] {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { runs: ArmRun[] }).runs : [];
}

/** Runs one search until its budget is spent (SIGINT then), and scores it. */
async function runArm(opts: { dir: string; task: Task; arm: Arm; seed: number; budgetSec: number; workers: number; fidelity: { minEpochs: number; eta: number }; dataDir: string; log: (s: string) => void }): Promise<ArmRun> {
  const { task, arm, seed } = opts;
  const space = armSpace(opts.dir, opts.task, arm, opts.fidelity);
  const db = join(opts.dir, `${task.name}-${arm.name}-${seed}.db`);
  const name = `${task.name}-${arm.name}-${seed}`;
  // a run not in the results (stopped before it was scored, or from an older setting) starts over
  removeDatabase(db);
  const child = spawn(
    process.execPath,
    [CLI, 'search', '--space', space, '--name', name, '--controller', arm.controller, '--seed', String(seed), '--trials', '100000', '--workers', String(opts.workers), '--db', db, '--data-dir', opts.dataDir],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // the budget counts from the experiment's creation (after the teacher and the data are ready)
  let createdAt: number | undefined;
  while (createdAt === undefined) {
    await new Promise((r) => setTimeout(r, 200));
    if (child.exitCode !== null) throw new Error(`${name} exited early (${child.exitCode}): ${stderr}`);
    try {
      const store = Store.open(db, { readonly: true });
      createdAt = Date.parse(store.getExperiment(name).createdAt);
      store.close();
    } catch {
      // not created yet
    }
  }
  const wait = createdAt + opts.budgetSec * 1000 - Date.now();
  await Promise.race([new Promise((r) => setTimeout(r, Math.max(0, wait))), exited]);
  child.kill('SIGINT');
  const code = await exited;
  if (code !== 130 && code !== 0) throw new Error(`${name} exited ${code}: ${stderr}`);
  const store = Store.open(db, { readonly: true });
  const curve = hypervolumeOverTime(store, name).filter(([at]) => at <= opts.budgetSec);
  const states: Record<string, number> = {};
  const history = store.history(store.getExperiment(name));
  for (const t of history) states[t.state] = (states[t.state] ?? 0) + 1;
  store.close();
  const agreement = prescreenAgreement(history);
  const prescreen = arm.prescreen && {
    ...arm.prescreen,
    spearman: agreement?.spearman ?? null,
    trials: agreement?.trials ?? 0,
    secondsPerTrial: mean(history.filter((t) => t.prescreen).map((t) => t.prescreen!.seconds)),
  };
  opts.log(`${name}: hypervolume ${curve[curve.length - 1][1].toFixed(5)} after ${opts.budgetSec} s; ${JSON.stringify(states)}`);
  return {
    arm: arm.name,
    task: task.name,
    seed,
    budgetSec: opts.budgetSec,
    fidelity: arm.rungs ? opts.fidelity : null,
    curve,
    finalHypervolume: curve[curve.length - 1][1],
    states,
    ...(prescreen ? { prescreen } : {}),
    finishedAt: new Date().toISOString(),
  };
}

function removeDatabase(db: string): void {
  for (const file of [db, `${db}-wal`, `${db}-shm`]) rmSync(file, { force: true });
}

/** Loads the data and the teacher of a task once (cached in the data dir) so no arm's budget pays for them. */
function warm(opts: { dir: string; task: Task; dataDir: string; log: (s: string) => void }) {
  const space = armSpace(opts.dir, opts.task, { name: 'warm', controller: 'random', rungs: false }, { minEpochs: 1, eta: 2 });
  opts.log(`${opts.task.name}: preparing the data and the teacher (cached for every arm)`);
  const db = join(opts.dir, `${opts.task.name}-warm.db`);
  removeDatabase(db);
  const r = spawnSync(process.execPath, [CLI, 'search', '--space', space, '--name', 'warm', '--trials', '1', '--db', db, '--data-dir', opts.dataDir], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`warming ${opts.task.name} exited ${r.status}`);
}

/**
 * Every (task, seed, arm) run not yet in `out`, in that order, each
 * appended to `out` as it finishes (arms interleaved per seed, so a
 * sitting that ends early leaves comparable runs).
 */
export async function runArms(opts: {
  tasks: Array<Task & { seeds: number }>;
  arms: Arm[];
  budgetSec: number;
  workers: number;
  fidelity: { minEpochs: number; eta: number };
  out: string;
  dataDir: string;
  log: (s: string) => void;
}): Promise<ArmRun[]> {
  const dir = join(dirname(opts.out), 'search-arms-runs');
  mkdirSync(dir, { recursive: true });
  for (const task of opts.tasks) {
    const todo = (seed: number, arm: Arm) => !readRuns(opts.out).some((r) => r.task === task.name && r.arm === arm.name && r.seed === seed && r.budgetSec === opts.budgetSec);
    const arms = opts.arms.filter((arm) => !task.arms || task.arms.includes(arm.name));
    const pending = Array.from({ length: task.seeds }, (_, seed) => arms.filter((arm) => todo(seed, arm)).map((arm) => ({ seed, arm }))).flat();
    if (!pending.length) continue;
    warm({ dir, task, dataDir: opts.dataDir, log: opts.log });
    for (const { seed, arm } of pending) {
      const run = await runArm({ dir, task, arm, seed, budgetSec: opts.budgetSec, workers: opts.workers, fidelity: opts.fidelity, dataDir: opts.dataDir, log: opts.log });
      const runs = [...readRuns(opts.out), run];
      writeFileSync(opts.out, `${JSON.stringify({ runs }, null, 1)}\n`);
    }
  }
  return readRuns(opts.out);
}
