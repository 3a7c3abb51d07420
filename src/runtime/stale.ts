import { ownerState } from './owner';

/** A RUNNING trial whose owner's heartbeat is older than this is run again (5 s heartbeats: six missed beats). */
export const STALE_GRACE_MS = 30_000;

/**
 * Is a RUNNING trial abandoned? (DESIGN.md rule 5.) Yes when its owner is a
 * dead process on this host (a zombie counts as dead), when its heartbeat is
 * older than the grace period, or when it carries this process's name but
 * this process is not running it (a previous process with the same pid).
 */
export function isStale(t: { number: number; owner: string | null; heartbeatAgeMs: number }, opts: { graceMs: number; runningHere: (number: number) => boolean }): boolean {
  if (t.owner === null) return true;
  switch (ownerState(t.owner)) {
    case 'self':
      return !opts.runningHere(t.number);
    case 'dead':
      return true;
    default:
      return t.heartbeatAgeMs > opts.graceMs;
  }
}
