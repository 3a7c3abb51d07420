import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { QuietGate } from '../src/core/quiet-gate';

const WORKER = join(__dirname, 'support', 'gate-worker.js');

/** A computing thread, a warming-up one (asynchronous sections) and a measuring one; the sections that overlapped a measurement. */
async function overlaps(gated: boolean, processes?: { hostDir?: string }): Promise<{ overlapping: number; measurements: number; computes: number }> {
  const shared = QuietGate.create(3);
  const log = new SharedArrayBuffer(8 * 3 * 1000);
  const count = new SharedArrayBuffer(4);
  const roles = [
    { role: 'compute', sections: 120 },
    { role: 'warm', sections: 120 },
    { role: 'measure', sections: 12 },
  ];
  await Promise.all(
    roles.map(
      ({ role, sections }, slot) =>
        new Promise<void>((resolve, reject) => {
          // as processes, each thread is a process of its own: its own in-memory gate, its own id
          const buffer = processes ? QuietGate.create(3) : shared;
          const host = processes?.hostDir ? { dir: processes.hostDir, id: `${process.pid}-thread${slot}` } : undefined;
          const w = new Worker(WORKER, { workerData: { buffer, slot, role, gated, sections, log, count, host } });
          w.on('error', reject);
          w.on('exit', () => resolve());
        }),
    ),
  );
  const n = new Int32Array(count)[0];
  const events = Array.from({ length: n }, (_, i) => Array.from(new Float64Array(log, i * 24, 3)));
  const measures = events.filter((e) => e[0] === 1);
  const computes = events.filter((e) => e[0] === 0);
  // 0.2 ms of slack for the clocks of different threads.
  const overlapping = computes.filter(([, s, e]) => measures.some(([, ms, me]) => s < me - 0.2 && e > ms + 0.2)).length;
  return { overlapping, measurements: measures.length, computes: computes.length };
}

test('a measurement runs while no other thread computes, and holds new compute back until it is done', async () => {
  const gated = await overlaps(true);
  assert.equal(gated.measurements, 12);
  assert.equal(gated.computes, 240);
  assert.equal(gated.overlapping, 0, 'compute sections during a measurement');
  // The same threads without the gate do overlap: the check above can fail.
  const open = await overlaps(false);
  assert.ok(open.overlapping > 0, 'without the gate some compute overlaps a measurement');
});

test('across processes of one host (a gate directory): a measurement runs while no other process computes; a dead process cannot keep the gate shut', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdsearch-gate-'));
  const gated = await overlaps(true, { hostDir: dir });
  assert.equal(gated.measurements, 12);
  assert.equal(gated.computes, 240);
  assert.equal(gated.overlapping, 0, 'compute sections of other processes during a measurement');
  // the same threads as processes with separate in-memory gates and no directory overlap: the check above can fail
  const separate = await overlaps(true, {});
  assert.ok(separate.overlapping > 0, 'processes without a shared gate directory overlap');
  assert.deepEqual(readdirSync(dir), [], 'no lock or busy file is left');
  // a killed process's lock and busy files (a pid that is not running) are ignored and removed
  writeFileSync(join(dir, 'measuring'), '2147483646-dead');
  writeFileSync(join(dir, 'busy.2147483646-dead.0'), '');
  const gate = new QuietGate(QuietGate.create(1), 0, { dir, id: `${process.pid}-me` });
  const started = performance.now();
  gate.compute(() => undefined);
  const { quiet } = await gate.measure(async () => undefined);
  assert.ok(quiet);
  assert.ok(performance.now() - started < 1000, 'no wait on a dead process');
  assert.deepEqual(readdirSync(dir), []);
});

test("a run that ends inside a compute section (a killed worker) is cleared by its slot, so a measurement does not wait for it", async () => {
  const buffer = QuietGate.create(2);
  const stuck = new QuietGate(buffer, 0);
  // Enter a section and never leave it, as a worker terminated mid-step would.
  assert.throws(() =>
    stuck.compute(() => {
      throw new Error('terminated');
    }),
  );
  new Int32Array(buffer)[1] = 1;
  QuietGate.clear(buffer, 0);
  const started = performance.now();
  const { quiet } = await new QuietGate(buffer, 1).measure(async () => undefined);
  assert.ok(quiet);
  assert.ok(performance.now() - started < 100, 'the cleared slot is not waited for');
  // A measuring run that dies gives the gate back too.
  const owner = new Int32Array(buffer);
  owner[0] = 1; // slot 0 measuring
  QuietGate.clear(buffer, 0);
  assert.equal(owner[0], 0);
});
