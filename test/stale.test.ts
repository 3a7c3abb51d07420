import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { test } from 'node:test';
import { OWNER, ownerState } from '../src/runtime/owner';
import { isStale } from '../src/runtime/stale';

const here = (pid: number) => `${hostname()}:${pid}`;
const procStateOf = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
};

test('owner states: this process, a live one, a dead one, another host', async () => {
  assert.equal(ownerState(OWNER), 'self');
  const child = spawn('sleep', ['30']);
  try {
    assert.equal(ownerState(here(child.pid!)), 'alive');
  } finally {
    child.kill('SIGKILL');
  }
  await new Promise((r) => child.once('exit', r));
  assert.equal(ownerState(here(child.pid!)), 'dead');
  assert.equal(ownerState(`another-host.example:${process.pid}`), 'elsewhere');
});

test('a killed process not yet reaped (a zombie) counts as dead, though kill(pid, 0) still reaches it', async () => {
  // bash starts a background sleep, prints its pid, then becomes `sleep 60`, which never reaps it.
  const parent = spawn('bash', ['-c', 'sleep 30 & echo $!; exec sleep 60'], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const pid = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (d) => resolve(String(d).trim()))));
    // Until bash has become sleep, it would reap its child itself.
    const until = Date.now() + 5000;
    while (readFileSync(`/proc/${parent.pid}/comm`, 'utf8').trim() !== 'sleep' && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    process.kill(pid, 'SIGKILL');
    while (procStateOf(pid) !== 'Z' && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    assert.equal(procStateOf(pid), 'Z', 'the child is a zombie');
    assert.doesNotThrow(() => process.kill(pid, 0), 'kill(pid, 0) reports a zombie alive');
    assert.equal(ownerState(here(pid)), 'dead');
    assert.ok(isStale({ number: 3, owner: here(pid), heartbeatAgeMs: 10 }, { graceMs: 30_000, runningHere: () => false }));
  } finally {
    parent.kill('SIGKILL');
  }
});

test('stale: a dead owner at once, a live or remote one only after the grace period, this process only for trials it does not run', () => {
  const opts = { graceMs: 30_000, runningHere: (n: number) => n === 1 };
  const dead = spawnSync('true').pid!;
  assert.equal(isStale({ number: 0, owner: here(dead), heartbeatAgeMs: 5 }, opts), true);
  assert.equal(isStale({ number: 0, owner: 'far.example:12', heartbeatAgeMs: 29_000 }, opts), false);
  assert.equal(isStale({ number: 0, owner: 'far.example:12', heartbeatAgeMs: 31_000 }, opts), true);
  assert.equal(isStale({ number: 0, owner: here(process.ppid), heartbeatAgeMs: 29_000 }, opts), false);
  assert.equal(isStale({ number: 0, owner: here(process.ppid), heartbeatAgeMs: Infinity }, opts), true);
  assert.equal(isStale({ number: 1, owner: OWNER, heartbeatAgeMs: 60_000 }, opts), false, 'running here');
  assert.equal(isStale({ number: 2, owner: OWNER, heartbeatAgeMs: 0 }, opts), true, 'left by an earlier process with this pid');
  assert.equal(isStale({ number: 2, owner: null, heartbeatAgeMs: 0 }, opts), true);
});
