/**
 * A machine-wide gate between computation and latency measurement, in a
 * SharedArrayBuffer every worker thread of a pool sees: a measurement waits
 * until no worker is inside a compute section (a training step, an
 * evaluation batch) and holds new ones back until it is done, so the time
 * it takes is that of the model alone, not of the model sharing the cores
 * with another trial's training. Measurements run one at a time.
 *
 * Layout (Int32): [0] the measuring slot + 1 (0: none); [1 + s] 1 while
 * slot s computes. A slot is one concurrent run of the pool; the pool's
 * main thread hands it out and clears it when the run ends, whatever way
 * it ends, so a worker killed inside a step cannot leave the gate shut.
 * Waits are bounded (fail open): a gate nobody clears costs time, never a
 * hang.
 */
import { HostGate } from './host-gate';
import type { HostGateOptions } from './host-gate';

const OWNER = 0;

/** The longest a compute section waits for a measurement, and a measurement for running sections. */
const GATE_WAIT_LIMIT_MS = 20_000;

export class QuietGate {
  private readonly state: Int32Array;

  private readonly host?: HostGate;

  /** `host`: also gate against the other processes of this host that name the same directory (core/host-gate.ts). */
  constructor(
    readonly buffer: SharedArrayBuffer,
    readonly slot: number,
    host?: HostGateOptions,
  ) {
    this.state = new Int32Array(buffer);
    this.host = host && new HostGate(host, slot);
    if (slot < 0 || 1 + slot >= this.state.length) throw new RangeError(`quiet gate slot ${slot} outside 0..${this.state.length - 2}`);
  }

  /** A gate's shared state for `slots` concurrent runs. */
  static create(slots: number): SharedArrayBuffer {
    return new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * (1 + slots));
  }

  /** Marks a slot idle, and ends its measurement if it held one (its run ended, perhaps by a crash). */
  static clear(buffer: SharedArrayBuffer, slot: number): void {
    const state = new Int32Array(buffer);
    Atomics.store(state, 1 + slot, 0);
    Atomics.notify(state, 1 + slot);
    if (Atomics.compareExchange(state, OWNER, slot + 1, 0) === slot + 1) Atomics.notify(state, OWNER);
  }

  /**
   * Runs synchronous work (a training step on wasm or cpu, where the work
   * is done when the call returns) while no measurement runs.
   */
  compute<T>(work: () => T): T {
    this.enterSection();
    try {
      return work();
    } finally {
      this.leaveSection();
    }
  }

  /**
   * Runs brief asynchronous work (runs of a model warming up: a batch-1
   * inference read back) while no measurement runs; a measurement waits for
   * it to end, as for a step.
   */
  async computeAsync<T>(work: () => Promise<T>): Promise<T> {
    this.enterSection();
    try {
      return await work();
    } finally {
      this.leaveSection();
    }
  }

  /** Enters a compute section: this process's gate, then the host's. */
  private enterSection(): void {
    const deadline = this.enter();
    try {
      this.host?.enter(deadline);
    } catch (err) {
      this.leave();
      throw err;
    }
  }

  private leaveSection(): void {
    try {
      this.host?.leave();
    } finally {
      this.leave();
    }
  }

  /** Waits until no other slot measures, then marks this slot computing; the deadline of the waits. */
  private enter(): number {
    const me = 1 + this.slot;
    const deadline = Date.now() + GATE_WAIT_LIMIT_MS;
    for (;;) {
      const owner = Atomics.load(this.state, OWNER);
      if (owner !== 0 && owner !== me && Date.now() < deadline) {
        Atomics.wait(this.state, OWNER, owner, Math.max(1, deadline - Date.now()));
        continue;
      }
      Atomics.store(this.state, me, 1);
      // A measurement that started between the check and the store waits for this slot: step back for it.
      const now = Atomics.load(this.state, OWNER);
      if (now === 0 || now === me || Date.now() >= deadline) return deadline;
      this.leave();
    }
  }

  /**
   * Runs a measurement alone: waits for the others' compute sections to end
   * and holds back new ones until it is done. `quiet` says whether it was
   * (false only when a wait hit its limit).
   */
  async measure<T>(work: () => Promise<T>): Promise<{ value: T; quiet: boolean }> {
    const me = this.slot + 1;
    const deadline = Date.now() + GATE_WAIT_LIMIT_MS;
    let quiet = true;
    for (;;) {
      const owner = Atomics.compareExchange(this.state, OWNER, 0, me);
      if (owner === 0 || owner === me) break;
      if (Date.now() >= deadline) {
        quiet = false;
        break;
      }
      Atomics.wait(this.state, OWNER, owner, Math.max(1, deadline - Date.now()));
    }
    try {
      for (let s = 1; s < this.state.length; s++) {
        if (s === me) continue;
        while (quiet && Atomics.load(this.state, s) === 1) {
          if (Date.now() >= deadline) quiet = false;
          else Atomics.wait(this.state, s, 1, Math.max(1, deadline - Date.now()));
        }
      }
      if (this.host && !(await this.host.acquire(deadline))) quiet = false;
      return { value: await work(), quiet };
    } finally {
      this.host?.release();
      if (Atomics.compareExchange(this.state, OWNER, me, 0) === me) Atomics.notify(this.state, OWNER);
    }
  }

  private leave(): void {
    Atomics.store(this.state, 1 + this.slot, 0);
    Atomics.notify(this.state, 1 + this.slot);
  }
}

/** The gate this thread's computations and measurements go through; none outside a pool's worker. */
let current: QuietGate | undefined;

export function useQuietGate(gate: QuietGate | undefined): void {
  current = gate;
}

/** Runs synchronous compute through this thread's gate (directly when there is none). */
export function quietly<T>(work: () => T): T {
  return current ? current.compute(work) : work();
}

/** Runs brief asynchronous compute (a warm-up's runs) through this thread's gate (directly when there is none). */
export function quietlyAsync<T>(work: () => Promise<T>): Promise<T> {
  return current ? current.computeAsync(work) : work();
}

/** Runs a latency measurement through this thread's gate, alone on the machine's workers. */
export async function aloneOnMachine<T>(work: () => Promise<T>): Promise<{ value: T; quiet: boolean }> {
  return current ? current.measure(work) : { value: await work(), quiet: true };
}
