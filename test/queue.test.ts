import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { Store } from '../src/store/store';
import { MIGRATIONS } from '../src/store/migrations';
import { CLI, ROOT, standInSpace, tempDir } from './support/helpers';
import { freePort, redisCli, startRedis } from './support/redis-server';
import { fetchData, packData, publishData } from '../src/runtime/queue-data';
import { QUEUE_PROTOCOL, fromWire, refusal, toWire } from '../src/runtime/queue-job';
import { connectRedis } from '../src/runtime/queue-redis';
import { MAX_STALLS } from '../src/runtime/queue-worker';
import { parseQueueUrl, queueName } from '../src/runtime/queue-url';

/**
 * The distributed executor for real: Debian's redis-server on a free
 * loopback port, a coordinator (`kdsearch search --queue`) and worker
 * processes (`kdsearch worker`), killed with SIGKILL where the issue says.
 */
let dir: string;
let tiny: string;
let slow: string;
let redis: Awaited<ReturnType<typeof startRedis>>;

before(async () => {
  dir = tempDir();
  tiny = await standInSpace(dir);
  // trials of a few seconds, long enough to kill a worker inside one
  slow = join(dir, 'slow.yaml');
  writeFileSync(slow, readFileSync(tiny, 'utf8').replace('name: tiny', 'name: slow').replace('epochs: 1', 'epochs: 6').replace('trainLimit: 600', 'trainLimit: 3000').replace(/mlp: .*\n/, ''));
  redis = await startRedis();
});

after(async () => {
  await redis?.stop();
});

interface Proc {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function start(args: string[]): Proc {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  return { child, output: () => output, exited };
}

function worker(name: string, url = redis.url, extra: string[] = []): Proc {
  return start(['worker', '--queue', url, '--workers', '1', '--stall-timeout', '2', '--data-dir', join(dir, `worker-${name}`), ...extra]);
}

function search(db: string, name: string, space: string, args: string[], url = redis.url): Proc {
  return start(['search', '--space', space, '--name', name, '--db', db, '--data-dir', join(dir, 'data'), '--controller', 'random', '--queue', url, ...args]);
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The experiment's trials; none while the search has not created its database, its tables or its experiment yet. */
function trials(db: string, name: string) {
  if (!existsSync(db)) return [];
  // The file exists a moment before the search's migrations (one transaction each) have all been applied.
  const raw = new Database(db, { readonly: true });
  try {
    const hasLog = raw.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
    const applied = hasLog ? (raw.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null }).v : null;
    if (applied !== MIGRATIONS.at(-1)!.version) return [];
  } finally {
    raw.close();
  }
  const store = Store.open(db, { readonly: true });
  try {
    const experiment = store.findExperiment(name);
    return experiment ? store.history(experiment) : [];
  } finally {
    store.close();
  }
}

function integrity(db: string): string {
  const d = new Database(db, { readonly: true });
  try {
    return String(d.pragma('integrity_check', { simple: true }));
  } finally {
    d.close();
  }
}

/** How many times each trial number was started by these workers (their logs). */
function starts(...workers: Proc[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const w of workers) for (const m of w.output().matchAll(/: trial (\d+) \(job [^)]+\) starts/g)) counts.set(Number(m[1]), (counts.get(Number(m[1])) ?? 0) + 1);
  return counts;
}

const hashes = (ts: Array<{ hash: string }>) => ts.map((t) => t.hash).sort();

async function stopAll(...procs: Proc[]) {
  for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
  await Promise.all(procs.map((p) => p.exited));
}

test('a coordinator killed with SIGKILL resumes onto the queue: every trial runs once, on two workers, the same candidates as a local search', async () => {
  const db = join(dir, 'coordinator.db');
  const local = spawnSync(process.execPath, [CLI, 'search', '--space', tiny, '--name', 'local', '--trials', '8', '--controller', 'random', '--seed', '3', '--workers', '1', '--db', join(dir, 'local.db'), '--data-dir', join(dir, 'data'), '--json'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(local.status, 0, local.stderr);
  const a = worker('a');
  const b = worker('b');
  try {
    const first = search(db, 'queued', tiny, ['--trials', '8', '--seed', '3']);
    await waitFor('2 complete trials', () => trials(db, 'queued').filter((t) => t.state === 'COMPLETE').length >= 2);
    first.child.kill('SIGKILL');
    await first.exited;
    assert.ok(trials(db, 'queued').length < 8 || trials(db, 'queued').some((t) => t.state !== 'COMPLETE'), 'killed before the end');
    const resumed = start(['resume', 'queued', '--db', db, '--data-dir', join(dir, 'data'), '--queue', redis.url, '--json']);
    assert.equal(await resumed.exited, 0, resumed.output());
    const done = trials(db, 'queued');
    assert.deepEqual(done.map((t) => t.state), Array(8).fill('COMPLETE'));
    assert.deepEqual(hashes(done), hashes(trials(join(dir, 'local.db'), 'local')), 'the random controller proposes the same candidates wherever trials run');
    assert.equal(integrity(db), 'ok');
    const counts = starts(a, b);
    assert.deepEqual([...counts.keys()].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7], a.output() + b.output());
    assert.ok([...counts.values()].every((c) => c === 1), `a trial ran twice: ${JSON.stringify([...counts])}`);
    assert.ok(a.output().includes('starts') && b.output().includes('starts'), 'both workers took trials');
    // the finished experiment leaves nothing of its queue in Redis
    assert.equal(redisCli(redis.port, 'keys', 'bull:*'), '');
    assert.equal(redisCli(redis.port, 'smembers', 'kdsearch:queues'), '');
  } finally {
    await stopAll(a, b);
  }
});

test('a worker killed with SIGKILL mid-trial: the job stalls, another worker runs it, the trial completes', async () => {
  const db = join(dir, 'worker-kill.db');
  const a = worker('killed');
  let b: Proc | undefined;
  try {
    const s = search(db, 'worker-kill', slow, ['--trials', '2', '--seed', '1', '--workers', '1']);
    await waitFor('worker a to start trial 0', () => /trial 0 \(job trial-0-from-0\) starts/.test(a.output()));
    await new Promise((r) => setTimeout(r, 300));
    a.child.kill('SIGKILL');
    await a.exited;
    b = worker('rescuer');
    assert.equal(await s.exited, 0, s.output());
    const done = trials(db, 'worker-kill');
    assert.deepEqual(done.map((t) => t.state), ['COMPLETE', 'COMPLETE']);
    assert.match(b.output(), /trial 0 \(job trial-0-from-0\) starts/, 'the other worker ran the stalled trial');
    assert.doesNotMatch(a.output(), /trial 0 complete/, 'worker a was killed inside trial 0');
    assert.equal(integrity(db), 'ok');
  } finally {
    await stopAll(a, ...(b ? [b] : []));
  }
});

test('Redis unreachable at start: exit 1 naming the URL without its password, the database untouched; a malformed URL is a usage error', async () => {
  const db = join(dir, 'coordinator.db');
  const before = trials(db, 'queued').length;
  const port = await freePort();
  const r = spawnSync(process.execPath, [CLI, 'search', '--space', tiny, '--name', 'never', '--db', db, '--data-dir', join(dir, 'data'), '--queue', `redis://kd:s3cret-pw@127.0.0.1:${port}`], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /\[QUEUE_UNREACHABLE\]/);
  assert.ok(r.stderr.includes(`redis://kd:***@127.0.0.1:${port}`), r.stderr);
  assert.ok(!r.stderr.includes('s3cret-pw'), 'the password is never printed');
  const store = Store.open(db, { readonly: true });
  try {
    assert.equal(store.findExperiment('never'), undefined, 'no experiment was created');
  } finally {
    store.close();
  }
  assert.equal(trials(db, 'queued').length, before);
  const w = spawnSync(process.execPath, [CLI, 'worker', '--queue', `redis://127.0.0.1:${port}`, '--data-dir', join(dir, 'w')], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(w.status, 1);
  assert.match(w.stderr, /\[QUEUE_UNREACHABLE\]: worker: cannot reach Redis at redis:\/\/127\.0\.0\.1/);
  const bad = spawnSync(process.execPath, [CLI, 'search', '--space', tiny, '--db', db, '--queue', 'http://127.0.0.1:6379'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /\[USAGE\]: --queue: http:\/\/127\.0\.0\.1:6379 must start with redis:\/\//);
});

test('Redis going away mid-search: coordinator and worker exit 1 with QUEUE_UNREACHABLE, trials in flight back to WAITING, the database intact', async () => {
  const other = await startRedis();
  const db = join(dir, 'gone.db');
  const w = worker('orphan', other.url);
  try {
    const s = search(db, 'gone', slow, ['--trials', '3', '--seed', '2', '--workers', '1'], other.url);
    await waitFor('a trial to start', () => /trial 0 \(job trial-0-from-0\) starts/.test(w.output()));
    await other.stop();
    const code = await s.exited;
    assert.equal(code, 1, s.output());
    assert.match(s.output(), /\[QUEUE_UNREACHABLE\]: search: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+/);
    assert.match(s.output(), /kdsearch resume gone .*--queue redis:\/\/127\.0\.0\.1/);
    const left = trials(db, 'gone');
    assert.ok(left.length >= 1);
    assert.ok(left.every((t) => t.state !== 'RUNNING'), JSON.stringify(left.map((t) => t.state)));
    assert.ok(left.some((t) => t.state === 'WAITING'), 'the trial in flight went back to WAITING');
    assert.equal(integrity(db), 'ok');
    assert.equal(await w.exited, 1, w.output());
    assert.match(w.output(), /\[QUEUE_UNREACHABLE\]: worker/);
  } finally {
    await stopAll(w);
    await other.stop();
  }
});

test('queue URLs: the password never shows, a bad scheme or database is named; one queue per experiment and database', () => {
  const u = parseQueueUrl('redis://kd:p%40ss@10.0.0.5:6380/2');
  assert.deepEqual({ host: u.host, port: u.port, db: u.db, username: u.username, password: u.password, shown: u.shown }, { host: '10.0.0.5', port: 6380, db: 2, username: 'kd', password: 'p@ss', shown: 'redis://kd:***@10.0.0.5:6380/2' });
  assert.equal(parseQueueUrl('redis://localhost').port, 6379);
  assert.throws(() => parseQueueUrl('rediss://h:1'), /must start with redis:\/\//);
  assert.throws(() => parseQueueUrl('redis://:secret@h:1/x'), (e: Error) => /database "\/x" must be a number/.test(e.message) && !e.message.includes('secret'));
  assert.throws(() => parseQueueUrl('not a url :secret@'), (e: Error) => /is not a URL/.test(e.message));
  assert.notEqual(queueName({ db: '/a/x.db', experiment: 'e' }), queueName({ db: '/a/y.db', experiment: 'e' }));
  assert.notEqual(queueName({ db: '/a/x.db', experiment: 'e' }), queueName({ db: '/a/x.db', experiment: 'f' }));
  assert.match(queueName({ db: 'x.db', experiment: 'e' }), /^kdsearch-[0-9a-f]{16}$/);
});

test('jobs on the wire: buffers survive JSON, a job of another protocol or shape is refused with a message', () => {
  const weights = new Float32Array([1.5, -2, 3.25]).buffer;
  const back = fromWire(JSON.parse(JSON.stringify(toWire({ a: [{ w: weights }], n: 3, s: 'x' })))) as { a: Array<{ w: ArrayBuffer }>; n: number };
  assert.deepEqual([...new Float32Array(back.a[0].w)], [1.5, -2, 3.25]);
  assert.equal(back.n, 3);
  const job = { protocol: QUEUE_PROTOCOL, experiment: 'e', trialNumber: 0, data: { sha256: 'a'.repeat(64), bytes: 10 }, task: {} };
  assert.equal(refusal(job), undefined);
  assert.match(refusal({ ...job, protocol: 'kdsearch-queue/0 (0.0.1)' }) ?? '', /made by kdsearch-queue\/0 \(0\.0\.1\); this worker is kdsearch-queue\/1/);
  assert.match(refusal({ ...job, trialNumber: -1 }) ?? '', /not a kdsearch trial job\n {2}- trialNumber/);
  assert.match(refusal('rm -rf /') ?? '', /not a kdsearch trial job/);
});

test('data reaches a worker once per content hash: fetched, cached, re-fetched when the cache is damaged, never used when the bytes differ', async () => {
  const n = 3;
  const shared = {
    source: 'test',
    fingerprint: 'f',
    inputShape: [2, 2, 1],
    numClasses: 2,
    trainN: n,
    testN: 1,
    trainX: new Float32Array(12).map((_, i) => i / 12).buffer as unknown as SharedArrayBuffer,
    trainY: new Int32Array([0, 1, 0]).buffer as unknown as SharedArrayBuffer,
    testX: new Float32Array(4).fill(0.5).buffer as unknown as SharedArrayBuffer,
    testY: new Int32Array([1]).buffer as unknown as SharedArrayBuffer,
    logits: new Float32Array(6).fill(-1).buffer as unknown as SharedArrayBuffer,
  };
  const { redis: client } = await connectRedis(parseQueueUrl(redis.url), 'test');
  try {
    const ref = await publishData(client, shared);
    assert.equal(ref.bytes, packData(shared).length);
    const cache = join(tempDir(), 'cache');
    const first = await fetchData(client, ref, cache);
    assert.equal(first.fetched, true);
    assert.deepEqual([...new Float32Array(first.data.trainX)], [...new Float32Array(shared.trainX)]);
    assert.deepEqual([...new Int32Array(first.data.trainY)], [0, 1, 0]);
    assert.deepEqual([...new Float32Array(first.data.logits!)], Array(6).fill(-1));
    assert.equal((await fetchData(client, ref, cache)).fetched, false, 'the second job reads the cache');
    // a damaged cache file is not trained on: the worker fetches the payload again
    const file = join(cache, `${ref.sha256}.bin`);
    const damaged = readFileSync(file);
    damaged[damaged.length - 1] ^= 0xff;
    writeFileSync(file, damaged);
    assert.equal((await fetchData(client, ref, cache)).fetched, true);
    // bytes in Redis that do not hash to the job's fingerprint are refused
    const other = { ...ref, sha256: 'b'.repeat(64) };
    await client.set(`kdsearch:data:${other.sha256}`, await client.get(`kdsearch:data:${ref.sha256}`) as string);
    for (let i = 0; ; i++) {
      const chunk = await client.getBuffer(`kdsearch:data:${ref.sha256}:${i}`);
      if (!chunk) break;
      await client.set(`kdsearch:data:${other.sha256}:${i}`, chunk);
    }
    await assert.rejects(fetchData(client, other, join(tempDir(), 'cache')), (e: Error & { code?: string }) => e.code === 'QUEUE_DATA_MISSING' && /hashes to/.test(e.message));
    await assert.rejects(fetchData(client, { ...ref, sha256: 'c'.repeat(64) }, cache), /is not in Redis/);
  } finally {
    client.disconnect();
  }
});

test('rungs through the queue: paused trials travel as checkpoints in their continuation jobs and end as a local search ends; a trial over --time-limit is FAILED as locally', async () => {
  const rungs = join(dir, 'rungs.yaml');
  writeFileSync(rungs, readFileSync(tiny, 'utf8').replace('name: tiny', 'name: rungs').replace('objectives: [accuracy, sizeBytes, latencyMs]', 'objectives: [accuracy, sizeBytes]\nfidelity: { minEpochs: 1, eta: 2 }').replace('epochs: 1', 'epochs: 3'));
  const local = spawnSync(process.execPath, [CLI, 'search', '--space', rungs, '--name', 'local-rungs', '--trials', '6', '--controller', 'random', '--seed', '5', '--workers', '1', '--db', join(dir, 'rungs-local.db'), '--data-dir', join(dir, 'data')], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(local.status, 0, local.stderr);
  const a = worker('rungs-a');
  const b = worker('rungs-b');
  try {
    const db = join(dir, 'rungs-queued.db');
    const s = search(db, 'queued-rungs', rungs, ['--trials', '6', '--seed', '5', '--workers', '1']);
    assert.equal(await s.exited, 0, s.output());
    const summary = (ts: ReturnType<typeof trials>) => ts.map((t) => ({ n: t.number, state: t.state, accuracy: t.metrics?.accuracy, rungs: t.rungs?.map((r) => [r.epoch, r.metrics.accuracy]) }));
    const queued = trials(db, 'queued-rungs');
    assert.ok(queued.some((t) => t.state === 'PRUNED') && queued.some((t) => (t.rungs?.length ?? 0) > 0 && t.state === 'COMPLETE'), JSON.stringify(summary(queued)));
    assert.deepEqual(summary(queued), summary(trials(join(dir, 'rungs-local.db'), 'local-rungs')));
    assert.match(a.output() + b.output(), /\(job trial-\d+-from-1\) starts/, 'a promoted trial continued from its rung');
    assert.equal(integrity(db), 'ok');

    const timed = join(dir, 'timeout.db');
    const t = search(timed, 'timeout', slow, ['--trials', '1', '--seed', '1', '--workers', '1', '--time-limit', '1']);
    assert.equal(await t.exited, 0, t.output());
    const [failed] = trials(timed, 'timeout');
    assert.equal(failed.state, 'FAILED');
    const store = Store.open(timed, { readonly: true });
    try {
      assert.equal(store.trialDetail(store.getExperiment('timeout'), 0)?.errorCode, 'TRIAL_TIMEOUT');
    } finally {
      store.close();
    }
  } finally {
    await stopAll(a, b);
  }
});

test('a pre-screen through the queue: each proposal is scored in a job of its own and the same candidates are picked as locally', async () => {
  const screened = join(dir, 'screened.yaml');
  writeFileSync(screened, readFileSync(tiny, 'utf8').replace('name: tiny', 'name: screened').replace('objectives: [accuracy, sizeBytes, latencyMs]', 'objectives: [accuracy, sizeBytes]\nprescreen: { samples: 2, steps: 3 }'));
  const local = spawnSync(process.execPath, [CLI, 'search', '--space', screened, '--name', 'local-screened', '--trials', '3', '--controller', 'random', '--seed', '2', '--workers', '1', '--db', join(dir, 'screened-local.db'), '--data-dir', join(dir, 'data')], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(local.status, 0, local.stderr);
  const w = worker('screens');
  try {
    const db = join(dir, 'screened-queued.db');
    const s = search(db, 'queued-screened', screened, ['--trials', '3', '--seed', '2', '--workers', '1']);
    assert.equal(await s.exited, 0, s.output());
    const summary = (ts: ReturnType<typeof trials>) => ts.map((t) => ({ n: t.number, state: t.state, hash: t.hash, accuracy: t.metrics?.accuracy, scores: t.prescreen?.scores, picked: t.prescreen?.picked }));
    const queued = trials(db, 'queued-screened');
    assert.deepEqual(queued.map((t) => t.prescreen?.scores.length), [2, 2, 2]);
    assert.deepEqual(summary(queued), summary(trials(join(dir, 'screened-local.db'), 'local-screened')));
    assert.equal((w.output().match(/\(job trial-\d+-screen-[0-9a-f]{16}\) starts/g) ?? []).length, 6, w.output());
    // a screen's job is named by the hash its trial stores for the proposal
    for (const t of queued) for (const p of t.prescreen!.scores) assert.ok(w.output().includes(`(job trial-${t.number}-screen-${p.hash}) starts`), `${t.number} ${p.hash}`);
    assert.match(w.output(), /trial 0 pre-screened \([\d.]+%\)/);
    assert.equal(integrity(db), 'ok');
  } finally {
    await stopAll(w);
  }
});

test('a trial whose workers keep dying is FAILED with TRIAL_WORKER_LOST after a bounded number of stalls', async () => {
  const db = join(dir, 'lost.db');
  const s = search(db, 'lost', slow, ['--trials', '1', '--seed', '7', '--workers', '1']);
  const killed: Proc[] = [];
  let last: Proc | undefined;
  try {
    // each worker takes the stalled job again and is killed inside it; one more than MAX_STALLS times
    for (let k = 0; k <= MAX_STALLS; k++) {
      const w = worker(`dying-${k}`);
      killed.push(w);
      await waitFor(`worker ${k} to start trial 0`, () => /trial 0 \(job trial-0-from-0\) starts/.test(w.output()));
      w.child.kill('SIGKILL');
      await w.exited;
    }
    // a live worker's stalled check then fails the job instead of running it again
    last = worker('witness');
    assert.equal(await s.exited, 0, s.output());
    const [t] = trials(db, 'lost');
    assert.equal(t.state, 'FAILED');
    const store = Store.open(db, { readonly: true });
    try {
      const detail = store.trialDetail(store.getExperiment('lost'), 0);
      assert.equal(detail?.errorCode, 'TRIAL_WORKER_LOST');
      assert.match(detail?.error ?? '', /stalled/);
    } finally {
      store.close();
    }
    assert.doesNotMatch(last.output(), /trial 0 \(job trial-0-from-0\) starts/);
  } finally {
    await stopAll(...killed, ...(last ? [last] : []));
  }
});
