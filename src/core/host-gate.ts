import { linkSync, mkdirSync, readFileSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The quiet gate across processes of one host (several `kdsearch worker`
 * processes on one machine), in files of a shared directory: a process
 * measuring latency holds `measuring` (created exclusively, holding its
 * id); a thread computing holds `busy.<id>.<slot>` for the section. Each
 * side marks itself first and looks at the other second, so one of two
 * racing sides always sees the other and steps back. An id is
 * `<pid>-<tag>`: files of a dead process are ignored and removed, so a
 * killed worker cannot keep the gate shut. A few file operations per
 * training step (tens of microseconds against steps of milliseconds).
 */
export interface HostGateOptions {
  dir: string;
  /** This process: `<pid>-<tag>`. */
  id: string;
}

const LOCK = 'measuring';
const pause = new Int32Array(new SharedArrayBuffer(4));

function alive(id: string): boolean {
  const pid = Number(id.slice(0, id.indexOf('-')));
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function remove(file: string): void {
  try {
    unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

export class HostGate {
  constructor(
    readonly opts: HostGateOptions,
    private readonly slot: number,
  ) {
    mkdirSync(opts.dir, { recursive: true });
  }

  private get busyFile(): string {
    return `${this.opts.dir}/busy.${this.opts.id}.${this.slot}`;
  }

  /** Another live process measures now (a dead one's lock is removed). */
  private othersMeasure(): boolean {
    const owner = read(`${this.opts.dir}/${LOCK}`);
    if (owner === undefined || owner === this.opts.id) return false;
    if (alive(owner)) return true;
    remove(`${this.opts.dir}/${LOCK}`);
    return false;
  }

  /**
   * Marks this thread computing, unless another process measures; then
   * waits (synchronously: a step is synchronous work) until it is done or
   * the deadline passes, and marks it anyway.
   */
  enter(deadline: number): void {
    for (;;) {
      writeFileSync(this.busyFile, '');
      if (!this.othersMeasure() || Date.now() >= deadline) return;
      remove(this.busyFile);
      while (this.othersMeasure() && Date.now() < deadline) Atomics.wait(pause, 0, 0, 2);
    }
  }

  leave(): void {
    remove(this.busyFile);
  }

  /**
   * Takes the host's measurement lock and waits until no other process
   * computes; false when the deadline passed first (the measurement is
   * then not quiet, and runs anyway).
   */
  async acquire(deadline: number): Promise<boolean> {
    const lock = `${this.opts.dir}/${LOCK}`;
    for (;;) {
      // created with its content in one step (a link to a written file), so nobody reads a lock without an owner
      const mine = `${this.opts.dir}/lock.${this.opts.id}.${this.slot}`;
      writeFileSync(mine, this.opts.id);
      try {
        linkSync(mine, lock);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      } finally {
        remove(mine);
      }
      const owner = read(lock);
      if (owner !== undefined && !alive(owner)) remove(lock);
      else if (Date.now() >= deadline) return false;
      else await sleep(2);
    }
    for (;;) {
      const others = readdirSync(this.opts.dir).filter((f) => f.startsWith('busy.') && !f.startsWith(`busy.${this.opts.id}.`));
      const live = others.filter((f) => {
        const id = f.slice('busy.'.length, f.lastIndexOf('.'));
        if (alive(id)) return true;
        remove(`${this.opts.dir}/${f}`);
        return false;
      });
      if (live.length === 0) return true;
      if (Date.now() >= deadline) return false;
      await sleep(1);
    }
  }

  release(): void {
    const lock = `${this.opts.dir}/${LOCK}`;
    if (read(lock) === this.opts.id) remove(lock);
  }
}
