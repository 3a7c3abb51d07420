import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { KdError } from '../core/errors';

/** Where the queue's Redis is, as `--queue redis://[user:pass@]host:port[/db]` names it. */
export interface QueueUrl {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  /** The URL without its password, for messages and logs (a password is never printed or stored). */
  shown: string;
}

/** Parses a --queue URL; a malformed one is a USAGE error that shows the URL without its password. */
export function parseQueueUrl(text: string): QueueUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new KdError('USAGE', `--queue: "${redactPassword(text)}" is not a URL; expected redis://[user:password@]host:port`);
  }
  const shown = redactPassword(text);
  if (url.protocol !== 'redis:') throw new KdError('USAGE', `--queue: ${shown} must start with redis:// (TLS, rediss://, is not supported)`);
  if (!url.hostname) throw new KdError('USAGE', `--queue: ${shown} names no host; expected redis://host:port`);
  const port = url.port ? Number(url.port) : 6379;
  const path = url.pathname.replace(/^\//, '');
  const db = path === '' ? 0 : Number(path);
  if (!Number.isInteger(db) || db < 0) throw new KdError('USAGE', `--queue: ${shown}: the database "/${path}" must be a number`);
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port,
    db,
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    shown,
  };
}

/** The URL with any password replaced by ***. */
export function redactPassword(text: string): string {
  return text.replace(/^([a-z]+:\/\/[^:/@]*:)[^@]*@/i, '$1***@');
}

/** ioredis options for a URL. BullMQ's blocking connections need maxRetriesPerRequest null. */
export function redisOptions(url: QueueUrl): { host: string; port: number; db: number; username?: string; password?: string; maxRetriesPerRequest: null } {
  return { host: url.host, port: url.port, db: url.db, username: url.username, password: url.password, maxRetriesPerRequest: null };
}

/** One queue per experiment and database: two searches never share jobs, even with the same experiment name. */
export function queueName(opts: { db: string; experiment: string }): string {
  return `kdsearch-${createHash('sha256').update(`${resolve(opts.db)}\0${opts.experiment}`).digest('hex').slice(0, 16)}`;
}
