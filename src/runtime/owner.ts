import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/** Identifies this process in trial rows (host:pid), so a later run can tell whether it is gone. */
export const OWNER = `${hostname()}:${process.pid}`;

export type OwnerState = 'self' | 'alive' | 'dead' | 'elsewhere';

/**
 * Is the process that wrote `owner` still running? Decidable only on this
 * host; a process on another host is 'elsewhere' and judged by its
 * heartbeat alone. A killed process whose parent has not reaped it yet is
 * a zombie: `kill(pid, 0)` still succeeds on it, so /proc's state is read
 * first and a zombie counts as dead.
 */
export function ownerState(owner: string): OwnerState {
  if (owner === OWNER) return 'self';
  const sep = owner.lastIndexOf(':');
  const host = owner.slice(0, sep);
  const pid = Number(owner.slice(sep + 1));
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0) return 'elsewhere';
  const state = procState(pid);
  if (state !== undefined) return state === 'Z' || state === 'X' ? 'dead' : 'alive';
  try {
    process.kill(pid, 0);
    return 'alive';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH' ? 'dead' : 'alive';
  }
}

/** The one-letter state in /proc/PID/stat ('R', 'S', 'Z', ...); undefined where /proc does not say (no such process, or no /proc). */
function procState(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    // No entry for the pid while /proc itself exists: the process is gone.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && procMounted()) return 'X';
    return undefined;
  }
  // "pid (comm) S ...": comm may hold spaces and parentheses, so read after the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) || undefined;
}

function procMounted(): boolean {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
}
