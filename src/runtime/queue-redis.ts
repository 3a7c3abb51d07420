import { Redis } from 'ioredis';
import { KdError } from '../core/errors';
import type { QueueUrl } from './queue-url';
import { redisOptions } from './queue-url';

/** The Redis set of queues that have trials for workers, and each queue's description (protocol, experiment). */
export const REGISTRY_KEY = 'kdsearch:queues';
export const queueInfoKey = (queue: string) => `kdsearch:queue:${queue}`;
/** A worker process's slots, refreshed while it lives: the coordinator keeps that many trials in flight. */
export const workerKey = (owner: string) => `kdsearch:worker:${owner}`;
export const WORKER_KEY_PATTERN = 'kdsearch:worker:*';
/** A worker process serves a queue (expires unless refreshed): a finished experiment's queue is removed once no worker holds it. */
export const servingKey = (queue: string, owner: string) => `kdsearch:serving:${queue}:${owner}`;
export const servingPattern = (queue: string) => `kdsearch:serving:${queue}:*`;

/** Resolves within `ms` or rejects with `why`. */
export async function within<T>(promise: Promise<T>, ms: number, why: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(why)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A connected client, or QUEUE_UNREACHABLE naming the URL (never its
 * password). Its errors are remembered (lastError) instead of printed by
 * ioredis on every reconnection attempt.
 */
export async function connectRedis(url: QueueUrl, role: string): Promise<{ redis: Redis; lastError: () => string }> {
  const redis = new Redis({ ...redisOptions(url), lazyConnect: true, connectTimeout: 3000 });
  let last = '';
  redis.on('error', (err: Error) => (last = err.message));
  try {
    await within(redis.connect().then(() => redis.ping()), 5000, 'no answer within 5 s');
  } catch (err) {
    redis.disconnect();
    throw unreachable(url, role, last || (err as Error).message);
  }
  return { redis, lastError: () => last };
}

export function unreachable(url: QueueUrl, role: string, why: string): KdError {
  return new KdError('QUEUE_UNREACHABLE', `${role}: cannot reach Redis at ${url.shown} (--queue): ${why.replaceAll(url.password ?? '\0', '***')}`);
}
