import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import Database from 'better-sqlite3';
import { Store } from '../src/store/store';
import type { TrialRecord } from '../src/space/history';
import { CLI, ROOT, standInSpace, tempDir } from './support/helpers';

// A search with rungs killed with SIGKILL while a trial is PAUSED and
// while a promoted trial trains its next leg, then resumed: the same
// decisions as an uninterrupted search (promotion is a function of the
// stored trials), nothing stored lost. Objectives without latency, whose
// timing is the one thing a re-run leg measures differently.

let dir: string;
let spaceFile: string;

before(async () => {
  dir = tempDir();
  const tiny = await standInSpace(dir);
  spaceFile = join(dir, 'rungs.yaml');
  const text = readFileSync(tiny, 'utf8')
    .replace('objectives: [accuracy, sizeBytes, latencyMs]', 'objectives: [accuracy, sizeBytes]\nfidelity: { minEpochs: 1, eta: 2 }')
    .replace('epochs: 1', 'epochs: 3');
  assert.match(text, /fidelity/);
  assert.match(text, /epochs: 3/);
  writeFileSync(spaceFile, text);
});

const TRIALS = 6;
const common = (db: string) => ['--db', db, '--data-dir', join(dir, 'data'), '--workers', '1'];

function history(db: string, name: string): TrialRecord[] {
  try {
    const store = Store.open(db, { readonly: true });
    try {
      return store.history(store.getExperiment(name));
    } finally {
      store.close();
    }
  } catch {
    return [];
  }
}

function start(args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return { child, exited, stderr: () => stderr };
}

async function waitFor(cond: () => boolean, what: string, ms = 90_000) {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** What must survive a kill: every rung measured, every COMPLETE trial's metrics. */
const stored = (trials: TrialRecord[]) => trials.map((t) => ({ number: t.number, rungs: JSON.stringify(t.rungs ?? []), metrics: t.state === 'COMPLETE' ? JSON.stringify(t.metrics) : undefined }));

test('SIGKILLed with a trial PAUSED and again with a promoted trial mid-leg, a search with rungs resumes into the decisions of an uninterrupted one', async () => {
  const db = join(tempDir(), 'k.db');
  const straight = spawnSync(process.execPath, [CLI, 'search', '--space', spaceFile, '--name', 'straight', '--trials', String(TRIALS), '--seed', '3', ...common(db)], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 180_000,
  });
  assert.equal(straight.status, 0, straight.stderr);
  const reference = history(db, 'straight');
  assert.ok(reference.some((t) => t.state === 'PRUNED') && reference.some((t) => t.state === 'COMPLETE'), reference.map((t) => t.state).join());

  // 1: killed between rungs, a trial PAUSED with its checkpoint
  let run = start(['search', '--space', spaceFile, '--name', 'crashy', '--trials', String(TRIALS), '--seed', '3', ...common(db)]);
  await waitFor(() => history(db, 'crashy').some((t) => t.state === 'PAUSED'), 'a PAUSED trial');
  run.child.kill('SIGKILL');
  await run.exited;
  const beforeSecond = stored(history(db, 'crashy'));
  assert.ok(history(db, 'crashy').some((t) => t.state === 'PAUSED'));

  // 2: killed while a promoted trial trains on from its checkpoint
  run = start(['resume', 'crashy', ...common(db)]);
  await waitFor(() => history(db, 'crashy').some((t) => t.state === 'RUNNING' && (t.rungs?.length ?? 0) > 0), 'a promoted trial RUNNING');
  await new Promise((r) => setTimeout(r, 100));
  run.child.kill('SIGKILL');
  await run.exited;
  const afterSecond = stored(history(db, 'crashy'));
  for (const t of beforeSecond) {
    const now = afterSecond.find((a) => a.number === t.number)!;
    assert.ok(now.rungs.startsWith(t.rungs.slice(0, -1)), `trial ${t.number}: its rungs were kept`);
    if (t.metrics) assert.equal(now.metrics, t.metrics);
  }

  const last = spawnSync(process.execPath, [CLI, 'resume', 'crashy', ...common(db), '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 180_000 });
  assert.equal(last.status, 0, last.stderr);
  const after = history(db, 'crashy');
  assert.equal(after.length, TRIALS);
  assert.deepEqual(after.map((t) => t.hash), reference.map((t) => t.hash), 'the same candidates');
  assert.deepEqual(after.map((t) => t.state), reference.map((t) => t.state), 'the same promotions and prunings');
  const accuracies = (ts: TrialRecord[]) => ts.map((t) => [t.rungs?.map((r) => [r.epoch, r.metrics.accuracy]), t.metrics?.accuracy]);
  assert.deepEqual(accuracies(after), accuracies(reference), 'the same rungs and results');
  const store = Store.open(db, { readonly: true });
  const curves = (name: string) => history(db, name).map((t) => store.trialDetail(store.getExperiment(name), t.number)!.curve.map((c) => [c.epoch, c.loss, c.valAccuracy]));
  assert.deepEqual(curves('crashy'), curves('straight'), 'every epoch of every leg kept, none trained twice into the curve');
  store.close();

  const check = new Database(db, { readonly: true });
  assert.equal(check.pragma('integrity_check', { simple: true }), 'ok');
  assert.equal((check.prepare('SELECT COUNT(*) AS n FROM trial_checkpoints').get() as { n: number }).n, 0);
  check.close();
  const report = JSON.parse(last.stdout);
  assert.equal(report.status, 'finished');
});
