import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { BUILTIN_TEACHER_SPEC } from '../src/model/teacher-arch';
import { candidateHash } from '../src/space/candidate';
import { parseSearchSpace } from '../src/space/load';
import { sampleCandidate } from '../src/space/sample';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../src/store/migrations';
import { Store } from '../src/store/store';
import { errorCodeOf } from '../src/core/errors';
import { createRng } from '../src/core/rng';
import { tempDir } from './support/helpers';

const SPACE_TEXT = `
name: s
reference: { accuracy: 0.5, sizeBytes: 100000, latencyMs: 10 }
training: { epochs: 1 }
families: { mlp: { depth: [1, 2], units: [8, 16, 32] } }
`;
const space = parseSearchSpace(SPACE_TEXT, 's.yaml');
const ctx = { inputShape: [28, 28, 1], numClasses: 10, teacherSpec: BUILTIN_TEACHER_SPEC, teacherParams: 1, teacherMacs: 1 };

function newExperiment(store: Store, name = 'e') {
  return store.createExperiment({
    name,
    spaceText: SPACE_TEXT,
    space,
    spaceHash: 'h',
    spaceFile: 's.yaml',
    controller: 'random',
    seed: 0,
    plannedTrials: 3,
    teacher: { source: 'builtin', accuracy: 0.98, params: 225034, macs: 1, sizeBytes: 900136, latencyMs: 0.5 },
    teacherFingerprint: 't',
    datasetFingerprint: 'd',
  });
}

const estimate = { params: 10, macs: 10, sizeBytes: 40 };
const LATEST = Math.max(...MIGRATIONS.map((m) => m.version));
const metrics = { accuracy: 0.9, floatAccuracy: 0.9, params: 10, macs: 10, sizeBytes: 40, latencyMs: 0.1, latencyP10Ms: 0.1, latencyP90Ms: 0.1 };

test('migrations run once and the schema survives a reopen', () => {
  const file = join(tempDir(), 'k.db');
  const a = Store.open(file);
  newExperiment(a);
  assert.equal(a.schemaVersion(), LATEST);
  a.close();
  const b = Store.open(file);
  assert.equal(b.schemaVersion(), LATEST);
  assert.equal(b.getExperiment('e').space.name, 's');
  assert.equal(b.db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(b.db.pragma('foreign_keys', { simple: true }), 1);
  b.close();
});

test('a database from before the dataset column migrates, keeping its experiments (dataset unknown) and taking new ones with it', () => {
  const file = join(tempDir(), 'old.db');
  const old = new Database(file);
  old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
  for (const m of MIGRATIONS.filter((m) => m.version <= 2)) {
    old.exec(m.sql);
    old.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(m.version, 'then');
  }
  // An experiment as version 2 stored it: no dataset column at all.
  old
    .prepare(
      `INSERT INTO experiments (name, space_text, space_json, space_hash, space_file, controller, seed, planned_trials, teacher_json, teacher_fingerprint, dataset_fingerprint, status, created_at, updated_at)
       VALUES ('e', ?, ?, 'h', 's.yaml', 'random', 0, 3, ?, 't', 'd', 'finished', 'then', 'then')`,
    )
    .run(SPACE_TEXT, JSON.stringify(space), JSON.stringify({ source: 'builtin', accuracy: 0.98, params: 225034, macs: 1, sizeBytes: 900136, latencyMs: 0.5 }));
  old.close();
  const store = Store.open(file);
  assert.equal(store.schemaVersion(), LATEST);
  assert.equal(store.getExperiment('e').dataset, undefined);
  // Version 4's device tables are there, empty, for the old experiment too.
  assert.deepEqual(store.devices(store.getExperiment('e')), []);
  // Versions 5 and 9: an old experiment has no latency references until its first resume sets them; set ones are never replaced.
  assert.equal(store.getExperiment('e').legacyLatencyReferenceMs, undefined);
  assert.equal(store.getExperiment('e').latencyReferences, undefined);
  store.setLatencyReferences(store.getExperiment('e').id, { small: 0.03, medium: 0.0925, large: 0.3 });
  store.setLatencyReferences(store.getExperiment('e').id, { small: 0.04, medium: 0.2, large: 0.5 });
  assert.deepEqual(store.getExperiment('e').latencyReferences, { small: 0.03, medium: 0.0925, large: 0.3 });
  assert.equal(store.getExperiment('e').legacyLatencyReferenceMs, undefined, 'the single reference column is only ever read, for experiments of versions 5 to 8');
  // One stored by version 5 to 8 (the medium reference alone) keeps it, read as legacy, beside the three added.
  store.db.prepare(`UPDATE experiments SET latency_references_json = NULL, latency_reference_ms = 0.07 WHERE name = 'e'`).run();
  store.setLatencyReferences(store.getExperiment('e').id, { small: 0.03, medium: 0.07, large: 0.3 });
  assert.equal(store.getExperiment('e').legacyLatencyReferenceMs, 0.07);
  assert.equal(store.getExperiment('e').latencyReferences?.medium, 0.07);
  store.db.prepare(`UPDATE experiments SET latency_references_json = '{"small": 0.03}' WHERE name = 'e'`).run();
  assert.throws(() => store.getExperiment('e'), (err) => errorCodeOf(err) === 'STORE_CORRUPT' && /experiment "e", latency references/.test((err as Error).message));
  store.db.prepare(`UPDATE experiments SET latency_references_json = '{"small": 0.03, "medium": 0.07, "large": 0.3}' WHERE name = 'e'`).run();
  const withData = store.createExperiment({ ...store.getExperiment('e'), name: 'f', dataset: { source: 'images:/x', inputShape: [8, 8, 3], numClasses: 2, classNames: ['a', 'b'], trainN: 8, testN: 2 } });
  assert.deepEqual(store.getExperiment('f').dataset?.classNames, ['a', 'b']);
  assert.equal(withData.name, 'f');
  store.db.prepare(`UPDATE experiments SET dataset_json = '{"source": 3}' WHERE name = 'f'`).run();
  assert.throws(() => store.getExperiment('f'), (err) => errorCodeOf(err) === 'STORE_CORRUPT' && /experiment "f", dataset/.test((err as Error).message));
  store.close();
});

test('the migration that adds PAUSED rebuilds the trials table and keeps every row, and every row that refers to one', () => {
  const file = join(tempDir(), 'v6.db');
  const old = new Database(file);
  old.pragma('foreign_keys = ON');
  old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
  for (const m of MIGRATIONS.filter((m) => m.version <= 6)) {
    old.exec(m.sql);
    old.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(m.version, 'then');
  }
  old
    .prepare(
      `INSERT INTO experiments (id, name, space_text, space_json, space_hash, space_file, controller, seed, planned_trials, teacher_json, teacher_fingerprint, dataset_fingerprint, status, created_at, updated_at)
       VALUES (1, 'e', ?, ?, 'h', 's.yaml', 'random', 0, 3, ?, 't', 'd', 'finished', 'then', 'then')`,
    )
    .run(SPACE_TEXT, JSON.stringify(space), JSON.stringify({ source: 'builtin', accuracy: 0.98, params: 225034, macs: 1, sizeBytes: 900136, latencyMs: 0.5 }));
  const c = sampleCandidate(space, ctx, createRng('v6'))!;
  old
    .prepare(
      `INSERT INTO trials (id, experiment_id, number, hash, family, candidate_json, estimate_json, state, metrics_json, layers_json, seconds, created_at, finished_at)
       VALUES (7, 1, 0, ?, 'mlp', ?, ?, 'COMPLETE', ?, '[]', 3, 'then', 'then')`,
    )
    .run(candidateHash(c), JSON.stringify(c), JSON.stringify(estimate), JSON.stringify(metrics));
  old.prepare(`INSERT INTO epochs VALUES (7, 1, 1.5, 0.1, 1.2, 0.8, 2)`).run();
  old.prepare(`INSERT INTO weights VALUES (7, '{}', '[]', x'00')`).run();
  old.close();

  const store = Store.open(file);
  assert.equal(store.schemaVersion(), LATEST);
  const e = store.getExperiment('e');
  const detail = store.trialDetail(e, 0)!;
  assert.equal(detail.state, 'COMPLETE');
  assert.deepEqual(detail.metrics, metrics);
  assert.deepEqual(detail.curve.map((r) => [r.epoch, r.loss]), [[1, 1.5]], "the trial's epochs survived the rebuild");
  assert.ok(store.trialWeights(e, 0), 'and its weights');
  assert.equal(store.db.pragma('foreign_keys', { simple: true }), 1, 'foreign keys back on');
  assert.equal(store.db.pragma('integrity_check', { simple: true }), 'ok');
  assert.deepEqual(store.db.pragma('foreign_key_check'), []);
  // the new state is allowed, the old rules still hold
  const d = sampleCandidate(space, ctx, createRng('v7'))!;
  store.insertTrial(e, 1, d, candidateHash(d), estimate);
  store.claimTrial(e, 1, 'me');
  store.db.prepare(`UPDATE trials SET state = 'PAUSED' WHERE number = 1`).run();
  assert.throws(() => store.db.prepare(`UPDATE trials SET state = 'SLEEPING' WHERE number = 1`).run(), /CHECK constraint failed/);
  assert.throws(() => store.db.prepare(`UPDATE trials SET seconds = 1 WHERE number = 0`).run(), /finished trials never change/);
  // deleting the experiment still cascades through the rebuilt table
  store.db.prepare('DELETE FROM experiments').run();
  assert.equal((store.db.prepare('SELECT COUNT(*) AS n FROM epochs').get() as { n: number }).n, 0);
  store.close();
});

test('a trial is claimed by compare-and-set: exactly one claimer wins', () => {
  const store = Store.open(join(tempDir(), 'k.db'));
  const e = newExperiment(store);
  const c = sampleCandidate(space, ctx, createRng(1));
  store.insertTrial(e, 0, c, candidateHash(c), estimate);
  assert.equal(store.claimTrial(e, 0, 'host:1'), true);
  assert.equal(store.claimTrial(e, 0, 'host:2'), false);
  assert.equal(store.history(e)[0].state, 'RUNNING');
  store.close();
});

test('the same candidate cannot be stored twice in one experiment', () => {
  const store = Store.open(join(tempDir(), 'k.db'));
  const e = newExperiment(store);
  const c = sampleCandidate(space, ctx, createRng(1));
  store.insertTrial(e, 0, c, candidateHash(c), estimate);
  assert.throws(() => store.insertTrial(e, 1, c, candidateHash(c), estimate), /UNIQUE/);
  store.close();
});

test('finished trials never change again', () => {
  const store = Store.open(join(tempDir(), 'k.db'));
  const e = newExperiment(store);
  const c = sampleCandidate(space, ctx, createRng(1));
  store.insertTrial(e, 0, c, candidateHash(c), estimate);
  store.claimTrial(e, 0, 'host:1');
  store.completeTrial(e, 0, {
    metrics,
    layers: [],
    backend: 'wasm',
    seconds: 1,
    curve: [{ epoch: 1, loss: 1, kdLoss: 0.5, ceLoss: 0.5, valAccuracy: 0.9, seconds: 1 }],
    weights: { topology: {}, manifest: [], data: Buffer.alloc(0) },
  });
  assert.throws(() => store.db.prepare(`UPDATE trials SET state = 'WAITING' WHERE number = 0`).run(), /finished trials never change/);
  assert.throws(() => store.finishWithoutResult(e, 0, 'FAILED', { code: 'TRIAL_CRASHED', message: 'x' }));
  assert.equal(store.requeueOwned(e, 'host:1').length, 0);
  const detail = store.trialDetail(e, 0)!;
  assert.equal(detail.state, 'COMPLETE');
  assert.equal(detail.curve.length, 1);
  store.close();
});

test('requeued RUNNING trials go back to WAITING with their partial curve removed, only from the owner named', () => {
  const store = Store.open(join(tempDir(), 'k.db'));
  const e = newExperiment(store);
  const rng = createRng(2);
  for (let n = 0; n < 3; n++) {
    let c = sampleCandidate(space, ctx, rng);
    while (store.history(e).some((t) => t.hash === candidateHash(c))) c = sampleCandidate(space, ctx, rng);
    store.insertTrial(e, n, c, candidateHash(c), estimate);
    store.claimTrial(e, n, `host:${100 + n}`);
    store.recordEpoch(e, n, { epoch: 1, loss: 1, kdLoss: 0, ceLoss: 1, valAccuracy: 0.5, seconds: 1 });
  }
  store.db.prepare(`UPDATE trials SET heartbeat_at = '2000-01-01T00:00:00.000Z' WHERE number = 0`).run();
  const running = store.runningTrials(e);
  assert.deepEqual(running.map((t) => [t.number, t.owner]), [[0, 'host:100'], [1, 'host:101'], [2, 'host:102']]);
  assert.ok(running[0].heartbeatAgeMs > 1e11 && running[2].heartbeatAgeMs < 60_000, 'heartbeat ages');
  // Trial 1 changed hands since it was looked at: the compare-and-set leaves it alone.
  const requeued = store.requeueRunning(e, [{ number: 0, owner: 'host:100' }, { number: 1, owner: 'host:999' }]);
  assert.deepEqual(requeued, [0]);
  assert.deepEqual(store.requeueRunning(e, [{ number: 1, owner: 'host:101' }]), [1]);
  assert.deepEqual(store.history(e).map((t) => t.state), ['WAITING', 'WAITING', 'RUNNING']);
  assert.equal(store.trialDetail(e, 0)!.curve.length, 0);
  assert.equal(store.trialDetail(e, 2)!.curve.length, 1);
  store.close();
});

test('JSON read back from the store is validated', () => {
  const store = Store.open(join(tempDir(), 'k.db'));
  const e = newExperiment(store);
  const c = sampleCandidate(space, ctx, createRng(1));
  store.insertTrial(e, 0, c, candidateHash(c), estimate);
  store.db.prepare(`UPDATE trials SET candidate_json = '{"genes": 3}' WHERE number = 0`).run();
  assert.throws(() => store.history(e), (err) => errorCodeOf(err) === 'STORE_CORRUPT' && /trial 0, candidate/.test((err as Error).message));
  store.close();
});

test('an unknown experiment is a clear error', () => {
  const store = Store.open(join(tempDir(), 'k.db'));
  assert.throws(() => store.getExperiment('nope'), (err) => errorCodeOf(err) === 'EXPERIMENT_NOT_FOUND' && /nope/.test((err as Error).message));
  store.close();
});
