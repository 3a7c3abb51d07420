import { workerData } from 'node:worker_threads';
import { QuietGate } from '../../src/core/quiet-gate';

/**
 * A thread of the quiet-gate test: computes (3 ms busy sections), warms
 * up (asynchronous sections: 1.5 ms busy, an await, 1.5 ms busy) or
 * measures (10 ms busy sections), through the gate or not, and logs each
 * section's wall-clock interval as [role, start, end] into shared memory.
 */
interface GateWorkerData {
  buffer: SharedArrayBuffer;
  slot: number;
  role: 'compute' | 'warm' | 'measure';
  gated: boolean;
  sections: number;
  log: SharedArrayBuffer;
  count: SharedArrayBuffer;
  /** The host-wide gate (several processes of one machine): each thread then acts as a process of its own. */
  host?: { dir: string; id: string };
}
const data = workerData as GateWorkerData;
const gate = new QuietGate(data.buffer, data.slot, data.host);
const log = new Float64Array(data.log);
const count = new Int32Array(data.count);
const now = () => performance.timeOrigin + performance.now();
const busy = (ms: number) => {
  const start = now();
  while (now() - start < ms);
  return start;
};
const record = (start: number) => {
  const i = Atomics.add(count, 0, 1);
  log.set([data.role === 'measure' ? 1 : 0, start, now()], i * 3);
};

void (async () => {
  for (let k = 0; k < data.sections; k++) {
    if (data.role === 'compute') {
      if (data.gated) gate.compute(() => record(busy(3)));
      else record(busy(3));
    } else if (data.role === 'warm') {
      const section = async () => {
        const start = busy(1.5);
        await new Promise((r) => setImmediate(r));
        busy(1.5);
        record(start);
      };
      if (data.gated) await gate.computeAsync(section);
      else await section();
    } else {
      if (data.gated) await gate.measure(async () => record(busy(10)));
      else record(busy(10));
      await new Promise((r) => setTimeout(r, 5));
    }
  }
})();
