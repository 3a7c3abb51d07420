import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { buildModel } from '../src/model/build';
import { fileSaver } from '../src/model/file-io';
import { parseStudentSpec } from '../src/space/student';
import type { ConcreteSpec } from '../src/space/student';
import { Store } from '../src/store/store';
import { CLI, ROOT, tempDir, useWasm } from './helpers';

let dir: string;
let spaceFile: string;

/** The tiny space with a stand-in teacher from disk, so no test trains the built-in teacher. */
before(async () => {
  await useWasm();
  dir = tempDir();
  const teacher = buildModel(parseStudentSpec({ kind: 'mlp', hidden: [32] }, 't') as ConcreteSpec, { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  await teacher.save(fileSaver(join(dir, 'teacher')));
  spaceFile = join(dir, 'tiny.yaml');
  const text = readFileSync(join(ROOT, 'test', 'fixtures', 'spaces', 'tiny.yaml'), 'utf8').replace('name: tiny', `name: tiny\nteacher: ${join(dir, 'teacher', 'model.json')}`);
  writeFileSync(spaceFile, text);
});

function kdsearch(args: string[]) {
  // `front` only reads the database; the training commands also get a private data dir.
  const extra = args[0] === 'front' ? [] : ['--data-dir', join(dir, 'data')];
  return spawnSync(process.execPath, [CLI, ...args, ...extra], { cwd: ROOT, encoding: 'utf8', timeout: 180_000 });
}

function trials(db: string, name: string) {
  const store = Store.open(db, { readonly: true });
  try {
    const e = store.getExperiment(name);
    return store.history(e);
  } finally {
    store.close();
  }
}

/** Starts a search in the background and resolves once `done` trials are COMPLETE. */
function startAndWait(db: string, name: string, args: string[], done: number) {
  const child = spawn(process.execPath, [CLI, 'search', '--space', spaceFile, '--name', name, '--db', db, '--data-dir', join(dir, 'data'), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  const ready = new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      try {
        if (trials(db, name).filter((t) => t.state === 'COMPLETE').length >= done) {
          clearInterval(poll);
          resolve();
        }
      } catch {
        // not created yet
      }
    }, 100);
    void exited.then(() => {
      clearInterval(poll);
      reject(new Error(`search exited early: ${stderr}`));
    });
  });
  return { child, ready, exited, stderr: () => stderr };
}

test('a search killed mid-run resumes: nothing lost, the same candidates as an uninterrupted run', async () => {
  const db = join(tempDir(), 'k.db');
  const straight = kdsearch(['search', '--space', spaceFile, '--name', 'straight', '--trials', '8', '--workers', '1', '--seed', '4', '--db', db, '--json']);
  assert.equal(straight.status, 0, straight.stderr);
  const reference = trials(db, 'straight');
  assert.equal(reference.length, 8);

  const run = startAndWait(db, 'crashy', ['--trials', '8', '--workers', '1', '--seed', '4'], 3);
  await run.ready;
  run.child.kill('SIGKILL'); // a crash: no cleanup at all
  await run.exited;
  const before = trials(db, 'crashy');
  assert.ok(before.some((t) => t.state === 'RUNNING' || t.state === 'WAITING') || before.length < 8);

  const resumed = kdsearch(['resume', 'crashy', '--db', db, '--json']);
  assert.equal(resumed.status, 0, resumed.stderr);
  const after = trials(db, 'crashy');
  assert.equal(after.length, 8);
  assert.ok(after.every((t) => t.state === 'COMPLETE'), after.map((t) => t.state).join());
  // Finished trials were kept as they were...
  for (const t of before.filter((b) => b.state === 'COMPLETE')) assert.deepEqual(after[t.number].metrics, t.metrics);
  // ...and the sequence is the one an uninterrupted search produced.
  assert.deepEqual(after.map((t) => t.hash), reference.map((t) => t.hash));
  const report = JSON.parse(resumed.stdout);
  assert.ok(report.front.length >= 1);
});

test('Ctrl-C stops cleanly: running trials back to WAITING, exit non-zero with the resume command', async () => {
  const db = join(tempDir(), 'k.db');
  const run = startAndWait(db, 'interrupted', ['--trials', '30', '--workers', '2'], 1);
  await run.ready;
  run.child.kill('SIGINT');
  const code = await run.exited;
  assert.equal(code, 130);
  assert.match(run.stderr(), /kdsearch resume interrupted --db/);
  const states = trials(db, 'interrupted').map((t) => t.state);
  assert.ok(!states.includes('RUNNING'), states.join());
  const store = Store.open(db, { readonly: true });
  assert.equal(store.getExperiment('interrupted').status, 'stopped');
  store.close();
  const front = kdsearch(['front', 'interrupted', '--db', db, '--json']);
  assert.equal(front.status, 0, front.stderr);
  assert.equal(JSON.parse(front.stdout).experiment, 'interrupted');
});

test('a space file changed since the experiment began is refused, and nothing stored changes', () => {
  const db = join(tempDir(), 'k.db');
  const first = kdsearch(['search', '--space', spaceFile, '--name', 'fixed', '--trials', '2', '--db', db, '--json']);
  assert.equal(first.status, 0, first.stderr);
  const before = trials(db, 'fixed');
  const changed = join(tempDir(), 'changed.yaml');
  copyFileSync(spaceFile, changed);
  writeFileSync(changed, readFileSync(changed, 'utf8').replace('epochs: 1', 'epochs: 2'));
  const r = kdsearch(['search', '--space', changed, '--name', 'fixed', '--trials', '4', '--db', db]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /EXPERIMENT_CONFLICT/);
  assert.match(r.stderr, /changed\.yaml changed since experiment "fixed" began/);
  assert.match(r.stderr, /--allow-space-change/);
  assert.deepEqual(trials(db, 'fixed'), before);
  const other = kdsearch(['search', '--space', spaceFile, '--name', 'fixed', '--controller', 'evolution', '--db', db]);
  assert.equal(other.status, 1);
  assert.match(other.stderr, /uses --controller random|uses --controller nsga2/);
});

test('search --json prints the front with the documented fields; front NAME reads it back', () => {
  const db = join(tempDir(), 'k.db');
  const r = kdsearch(['search', '--space', spaceFile, '--name', 'j', '--trials', '4', '--db', db, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim());
  assert.deepEqual(Object.keys(out.teacher).sort(), ['accuracy', 'params', 'source']);
  assert.equal(out.trials.length, 4);
  assert.ok(typeof out.hypervolume === 'number' && out.hypervolume > 0);
  for (const m of out.front) {
    for (const k of ['candidate', 'accuracy', 'params', 'sizeBytes', 'latencyMs']) assert.ok(k in m, k);
  }
  // Every member is non-dominated.
  const v = (m: { accuracy: number; sizeBytes: number; latencyMs: number }) => [-m.accuracy, m.sizeBytes, m.latencyMs];
  for (const a of out.front) {
    for (const b of out.trials.filter((t: { state: string }) => t.state === 'COMPLETE')) {
      const [x, y] = [v(b), v(a)];
      const dominates = x.every((val, i) => val <= y[i]) && x.some((val, i) => val < y[i]);
      assert.ok(!dominates, `trial ${b.number} dominates front member ${a.number}`);
    }
  }
  const front = kdsearch(['front', 'j', '--db', db, '--json']);
  assert.deepEqual(JSON.parse(front.stdout).front, out.front.map((m: object) => m));
});
