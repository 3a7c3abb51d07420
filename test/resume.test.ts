import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { Store } from '../src/store/store';
import { CLI, ROOT, standInSpace, tempDir } from './support/helpers';
import { createRng } from '../src/core/rng';

let dir: string;
let spaceFile: string;

/** The tiny space with a stand-in teacher from disk, so no test trains the built-in teacher. */
before(async () => {
  dir = tempDir();
  spaceFile = await standInSpace(dir);
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

test('killed at random moments again and again, a search resumes every time: nothing lost, nothing run twice, same candidates', async () => {
  const db = join(tempDir(), 'k.db');
  const TRIALS = 10;
  const straight = kdsearch(['search', '--space', spaceFile, '--name', 'straight', '--trials', String(TRIALS), '--workers', '1', '--seed', '4', '--db', db, '--json']);
  assert.equal(straight.status, 0, straight.stderr);
  const reference = trials(db, 'straight');
  assert.equal(reference.length, TRIALS);

  const rng = createRng('kill-test');
  const finishedOnce = new Map<number, string>();
  const kinds: string[] = [];
  for (let round = 0; round < 6 && !isDone(db); round++) {
    const args = ['--trials', String(TRIALS), '--workers', '1', '--seed', '4'];
    const run = round === 0 ? startAndWait(db, 'crashy', args, 0) : resumeInBackground(db, 'crashy');
    await run.ready.catch(() => {});
    // Kill mid-trial (an epoch is being trained), or just as a trial is being written, or at a random moment.
    const mode = round % 3;
    if (mode === 0) {
      await waitFor(() => runningCount(db) > 0, 20_000);
      await new Promise((r) => setTimeout(r, 50 + rng.int(200)));
    }
    else if (mode === 1) await waitFor(() => completeCount(db) > completeCountAtStart(run), 20_000);
    else await new Promise((r) => setTimeout(r, 200 + rng.int(1500)));
    kinds.push(['mid-trial', 'mid-write', 'random'][mode]);
    run.child.kill('SIGKILL');
    await run.exited;
    // A COMPLETE trial never changes or runs again.
    for (const t of safeTrials(db)) {
      const key = JSON.stringify(t.metrics);
      if (t.state === 'COMPLETE') {
        if (finishedOnce.has(t.number)) assert.equal(key, finishedOnce.get(t.number), `trial ${t.number} changed after it completed`);
        finishedOnce.set(t.number, key);
      } else {
        assert.ok(!finishedOnce.has(t.number), `trial ${t.number} was COMPLETE and is now ${t.state}`);
      }
    }
    if (isDone(db)) break;
  }
  assert.ok(kinds.includes('mid-trial') && kinds.includes('mid-write'), `kills: ${kinds}`);

  const resumed = kdsearch(['resume', 'crashy', '--db', db, '--json']);
  assert.equal(resumed.status, 0, resumed.stderr);
  const after = trials(db, 'crashy');
  assert.equal(after.length, TRIALS);
  assert.ok(after.every((t) => t.state === 'COMPLETE'), after.map((t) => t.state).join());
  for (const [number, key] of finishedOnce) assert.equal(JSON.stringify(after[number].metrics), key, `trial ${number} kept`);
  assert.deepEqual(after.map((t) => t.hash), reference.map((t) => t.hash), 'the candidates of an uninterrupted search');
  const check = new (require('better-sqlite3'))(db, { readonly: true });
  assert.equal(check.pragma('integrity_check', { simple: true }), 'ok');
  check.close();
  const report = JSON.parse(resumed.stdout);
  assert.ok(report.front.length >= 1);
  // Latencies are placed between the reference times calibrated when the experiment began: a resume reuses them, never recalibrates.
  const stored = Store.open(db, { readonly: true });
  const { latencyReferences: refs, legacyLatencyReferenceMs } = stored.getExperiment('crashy');
  assert.ok(refs && refs.small < refs.medium && refs.medium < refs.large && legacyLatencyReferenceMs === undefined, `calibrated once, stored: ${JSON.stringify(refs)}`);
  stored.close();
  assert.doesNotMatch(resumed.stderr, /latency references:/);
  assert.match(straight.stderr, /latency references: small [\d.]+ ms, medium [\d.]+ ms, large [\d.]+ ms at this machine's full speed \(tfjs-wasm\)/);

  // An experiment stored by versions 5 to 8, with the medium reference alone: its resume calibrates all three, in that one's units.
  const old = new (require('better-sqlite3'))(db);
  old.prepare(`UPDATE experiments SET latency_references_json = NULL, latency_reference_ms = 0.5 WHERE name = 'straight'`).run();
  old.close();
  const legacy = kdsearch(['resume', 'straight', '--db', db, '--json']);
  assert.equal(legacy.status, 0, legacy.stderr);
  assert.match(legacy.stderr, /latency references: small [\d.]+ ms, medium 0\.5000 ms, large [\d.]+ ms/);
  const extended = Store.open(db, { readonly: true });
  const ext = extended.getExperiment('straight').latencyReferences!;
  extended.close();
  assert.ok(ext.medium === 0.5 && ext.small < 0.5 && ext.large > 0.5, `in the stored medium's units: ${JSON.stringify(ext)}`);
});

function safeTrials(db: string) {
  try {
    return trials(db, 'crashy');
  } catch {
    return [];
  }
}
function isDone(db: string) {
  const t = safeTrials(db);
  return t.length === 10 && t.every((x) => x.state === 'COMPLETE');
}
function completeCount(db: string) {
  return safeTrials(db).filter((t) => t.state === 'COMPLETE').length;
}
const startCounts = new WeakMap<object, number>();
function completeCountAtStart(run: object) {
  return startCounts.get(run) ?? 0;
}
function runningCount(db: string) {
  return safeTrials(db).filter((t) => t.state === 'RUNNING').length;
}
async function waitFor(cond: () => boolean, ms: number) {
  const until = Date.now() + ms;
  while (Date.now() < until && !cond()) await new Promise((r) => setTimeout(r, 20));
}
function resumeInBackground(db: string, name: string) {
  const child = spawn(process.execPath, [CLI, 'resume', name, '--db', db, '--data-dir', join(dir, 'data')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const run = { child, ready: Promise.resolve(), exited, stderr: () => '' };
  startCounts.set(run, completeCount(db));
  return run;
}

test('Ctrl-C stops cleanly: running trials back to WAITING, exit non-zero with the resume command', async () => {
  const db = join(tempDir(), 'k.db');
  const run = startAndWait(db, 'interrupted', ['--trials', '30', '--workers', '2'], 1);
  await run.ready;
  run.child.kill('SIGINT');
  const code = await run.exited;
  assert.equal(code, 130);
  // The printed command must carry this run's data dir and database, or resuming it would use data/.
  assert.ok(run.stderr().includes(`kdsearch resume interrupted --data-dir ${join(dir, 'data')} --db ${db}`), run.stderr());
  const states = trials(db, 'interrupted').map((t) => t.state);
  assert.ok(!states.includes('RUNNING'), states.join());
  const store = Store.open(db, { readonly: true });
  assert.equal(store.getExperiment('interrupted').status, 'stopped');
  store.close();
  const front = kdsearch(['front', 'interrupted', '--db', db, '--json']);
  assert.equal(front.status, 0, front.stderr);
  const report = JSON.parse(front.stdout);
  assert.equal(report.experiment, 'interrupted');
  // Too few measured students for the latency model to be judged, and it says so.
  assert.equal(report.latencyModel.trusted, false);
  assert.deepEqual(report.latencyModel.features, ['call', 'layers', 'convMacs', 'separableMacs', 'denseMacs', 'valuesWritten']);
  const text = kdsearch(['front', 'interrupted', '--db', db]);
  assert.match(text.stdout, /latency model: too few measured students to judge \(\d+ of 10\)/);
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

test('two processes reading while a search writes never see "database is locked" or a half-written trial', async () => {
  const db = join(tempDir(), 'k.db');
  const run = startAndWait(db, 'busy', ['--trials', '8', '--workers', '2'], 0);
  await run.ready;
  let running = true;
  void run.exited.then(() => (running = false));
  const reader = async () => {
    let reads = 0;
    while (running || reads < 3) {
      const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [CLI, 'front', 'busy', '--db', db, '--json'], { cwd: ROOT });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        child.on('exit', (code) => resolve({ code, stdout, stderr }));
      });
      assert.equal(out.code, 0, out.stderr);
      assert.ok(!/locked|busy/i.test(out.stderr), out.stderr);
      const report = JSON.parse(out.stdout);
      for (const t of report.trials) {
        if (t.state === 'COMPLETE') assert.ok(typeof t.accuracy === 'number' && typeof t.sizeBytes === 'number', `half-written trial ${t.number}`);
        else assert.equal(t.accuracy, undefined);
      }
      reads++;
    }
    return reads;
  };
  const [a, b] = await Promise.all([reader(), reader()]);
  assert.equal(await run.exited, 0, run.stderr());
  assert.ok(a >= 3 && b >= 3);
});

test('baseline trains the from-scratch twin of each front member once and reports the distillation gain', () => {
  const db = join(tempDir(), 'k.db');
  const first = kdsearch(['search', '--space', spaceFile, '--name', 'gain', '--trials', '3', '--db', db, '--json']);
  assert.equal(first.status, 0, first.stderr);
  const front = JSON.parse(first.stdout).front as Array<{ number: number; accuracy: number }>;
  const r = kdsearch(['baseline', 'gain', '--db', db, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { baselines: Array<{ number: number; accuracy: number; scratchAccuracy: number; gain: number }> };
  assert.deepEqual(out.baselines.map((b) => b.number), front.map((m) => m.number));
  for (const b of out.baselines) {
    assert.ok(b.scratchAccuracy > 0.1 && b.scratchAccuracy <= 1);
    assert.ok(Math.abs(b.gain - (b.accuracy - b.scratchAccuracy)) < 1e-12);
  }
  const again = kdsearch(['baseline', 'gain', '--db', db, '--json']);
  assert.equal(again.status, 0, again.stderr);
  assert.doesNotMatch(again.stderr, /training \d+ from-scratch twins/, 'twins are stored, not retrained');
  assert.deepEqual(JSON.parse(again.stdout), out);
});

/**
 * Starts kdsearch under a parent that never reaps it (bash exec'd into sleep), as a
 * shell that has not yet collected a killed job: after SIGKILL the process stays a zombie.
 */
function spawnUnreaped(args: string[]) {
  const out = join(tempDir(), 'out');
  const cmd = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(' ');
  const keeper = spawn('bash', ['-c', `${cmd} > ${out}.stdout 2> ${out}.stderr & echo $!; exec sleep 600`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
  const pid = new Promise<number>((resolve) => keeper.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
  const state = async () => {
    try {
      const stat = readFileSync(`/proc/${await pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    } catch {
      return 'gone';
    }
  };
  return { keeper, pid, state, stderr: () => readFileSync(`${out}.stderr`, 'utf8') };
}

test('SIGKILLed mid-trial and resumed within a second, the killed process still a zombie: every trial ends COMPLETE or FAILED, none RUNNING, and only then is the experiment finished', async () => {
  const db = join(tempDir(), 'k.db');
  const name = 'quick-resume';
  const TRIALS = 8;
  const common = ['--db', db, '--data-dir', join(dir, 'data'), '--workers', '2'];
  const keepers: Array<ReturnType<typeof spawnUnreaped>> = [];
  try {
    let run = spawnUnreaped(['search', '--space', spaceFile, '--name', name, '--trials', String(TRIALS), '--seed', '2', ...common]);
    keepers.push(run);
    for (let kill = 0; kill < 3; kill++) {
      // Mid-trial: a trial RUNNING, its epochs being trained, owned by this very process.
      const pid = await run.pid;
      await waitFor(() => safeTrialsOf(db, name).some((t) => t.state === 'RUNNING') && ownersOf(db, name).split(',').some((o) => o.endsWith(`:${pid}`)), 90_000);
      assert.ok(ownersOf(db, name).split(',').some((o) => o.endsWith(`:${pid}`)), `kill ${kill}: no trial of process ${pid} RUNNING\n${run.stderr()}`);
      process.kill(pid, 'SIGKILL');
      await waitFor(() => false, 50);
      assert.equal(await run.state(), 'Z', 'the killed search is a zombie');
      if (kill < 2) {
        run = spawnUnreaped(['resume', name, ...common]);
        keepers.push(run);
      }
    }
    // The last resume starts at once, the killed search still a zombie owning RUNNING trials.
    const last = spawnSync(process.execPath, [CLI, 'resume', name, ...common, '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 180_000 });
    assert.equal(last.status, 0, last.stderr);
    const report = JSON.parse(last.stdout);
    assert.equal(report.status, 'finished');
    assert.equal(report.trials.length, TRIALS);
    assert.ok(report.trials.every((t: { state: string }) => t.state === 'COMPLETE' || t.state === 'FAILED'), JSON.stringify(report.trials.map((t: { state: string }) => t.state)));
  } finally {
    for (const k of keepers) k.keeper.kill('SIGKILL');
  }
  const after = trials(db, name);
  assert.equal(after.length, TRIALS);
  assert.ok(after.every((t) => t.state === 'COMPLETE' || t.state === 'FAILED'), after.map((t) => t.state).join());
  const store = Store.open(db, { readonly: true });
  assert.equal(store.getExperiment(name).status, 'finished');
  store.close();
});

function safeTrialsOf(db: string, name: string) {
  try {
    return trials(db, name);
  } catch {
    return [];
  }
}

/** The owners of the RUNNING trials, joined (host:pid,...). */
function ownersOf(db: string, name: string): string {
  try {
    const check = new (require('better-sqlite3'))(db, { readonly: true });
    try {
      const rows = check.prepare(`SELECT t.owner FROM trials t JOIN experiments e ON e.id = t.experiment_id WHERE e.name = ? AND t.state = 'RUNNING'`).all(name) as Array<{ owner: string }>;
      return rows.map((r) => r.owner).join(',');
    } finally {
      check.close();
    }
  } catch {
    return '';
  }
}
