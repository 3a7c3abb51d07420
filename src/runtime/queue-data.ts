import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { KdError } from '../core/errors';
import type { DataRef } from './queue-job';
import { sharedDataSchema } from './task';
import type { SharedData } from './task';

/**
 * The dataset and teacher logits reach workers once per content hash: the
 * coordinator packs them into one payload (a JSON header, then the float32
 * and int32 arrays), stores it in Redis in deflated chunks under its
 * SHA-256, and names that hash in every job. A worker fetches a payload it
 * has not seen, checks its hash, caches it in its data dir and checks the
 * hash again whenever it reads the cache: it never trains on other bytes.
 * Redis rather than a shared path because workers on other machines share
 * nothing with the coordinator but the queue.
 */
const CHUNK_BYTES = 8 << 20;
/** Payloads outlive a search long enough for a resume days later; a publish refreshes them. */
const KEEP_SECONDS = 14 * 24 * 3600;

const headerSchema = sharedDataSchema
  .pick({ source: true, fingerprint: true, inputShape: true, numClasses: true, trainN: true, testN: true })
  .extend({ hasLogits: z.boolean() });

const metaSchema = z.object({ bytes: z.number().int().positive(), chunks: z.number().int().positive(), sent: z.number().int().positive() });

const key = (sha: string, chunk?: number) => `kdsearch:data:${sha}${chunk === undefined ? '' : `:${chunk}`}`;

/** The payload of shared data: header length (uint32 LE), header JSON, then the arrays in a fixed order. */
export function packData(d: SharedData): Buffer {
  const header = Buffer.from(JSON.stringify({ source: d.source, fingerprint: d.fingerprint, inputShape: d.inputShape, numClasses: d.numClasses, trainN: d.trainN, testN: d.testN, hasLogits: d.logits !== null }));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(header.length);
  const arrays = [d.trainX, d.trainY, d.testX, d.testY, ...(d.logits ? [d.logits] : [])].map((b) => Buffer.from(new Uint8Array(b)));
  return Buffer.concat([length, header, ...arrays]);
}

/** Shared data from a payload; its sizes are checked against the header. */
export function unpackData(payload: Buffer, origin: string): SharedData {
  const fail = (why: string) => new KdError('DATASET_MALFORMED', `${origin}: ${why}`);
  if (payload.length < 4) throw fail('too short for a header');
  const headerLength = payload.readUInt32LE(0);
  const parsed = headerSchema.safeParse(JSON.parse(payload.subarray(4, 4 + headerLength).toString('utf8')));
  if (!parsed.success) throw fail('its header does not match the schema');
  const h = parsed.data;
  const pixels = h.inputShape.reduce((a, b) => a * b, 1);
  const sizes = [h.trainN * pixels * 4, h.trainN * 4, h.testN * pixels * 4, h.testN * 4, ...(h.hasLogits ? [h.trainN * h.numClasses * 4] : [])];
  if (4 + headerLength + sizes.reduce((a, b) => a + b, 0) !== payload.length) throw fail(`${payload.length} bytes do not match the header's arrays`);
  let at = 4 + headerLength;
  const [trainX, trainY, testX, testY, logits] = sizes.map((n) => {
    const sab = new SharedArrayBuffer(n);
    new Uint8Array(sab).set(payload.subarray(at, at + n));
    at += n;
    return sab;
  });
  return { source: h.source, fingerprint: h.fingerprint, inputShape: h.inputShape, numClasses: h.numClasses, trainN: h.trainN, testN: h.testN, trainX, trainY, testX, testY, logits: logits ?? null };
}

const hashOf = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Stores a search's data in Redis once (skipped when a payload with its hash is there); returns what jobs name. */
export async function publishData(redis: Redis, data: SharedData): Promise<DataRef & { sent: number }> {
  const payload = packData(data);
  const sha = hashOf(payload);
  const existing = await redis.get(key(sha));
  if (existing) {
    const meta = metaSchema.parse(JSON.parse(existing));
    await redis.expire(key(sha), KEEP_SECONDS);
    for (let i = 0; i < meta.chunks; i++) await redis.expire(key(sha, i), KEEP_SECONDS);
    return { sha256: sha, bytes: payload.length, sent: meta.sent };
  }
  let sent = 0;
  const chunks = Math.ceil(payload.length / CHUNK_BYTES);
  for (let i = 0; i < chunks; i++) {
    const packed = deflateRawSync(payload.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES), { level: 1 });
    sent += packed.length;
    await redis.set(key(sha, i), packed, 'EX', KEEP_SECONDS);
  }
  // the meta last: its presence says every chunk is there
  await redis.set(key(sha), JSON.stringify({ bytes: payload.length, chunks, sent }), 'EX', KEEP_SECONDS);
  return { sha256: sha, bytes: payload.length, sent };
}

/**
 * A worker's copy of a job's data: from its cache (hash checked on every
 * read) or fetched from Redis (hash checked before it is cached).
 */
export async function fetchData(redis: Redis, ref: DataRef, cacheDir: string): Promise<{ data: SharedData; fetched: boolean }> {
  const file = join(cacheDir, `${ref.sha256}.bin`);
  if (existsSync(file)) {
    const payload = readFileSync(file);
    if (hashOf(payload) === ref.sha256) return { data: unpackData(payload, file), fetched: false };
    // a damaged cache file is fetched again below, never trained on
  }
  const metaText = await redis.get(key(ref.sha256));
  if (!metaText) throw new KdError('QUEUE_DATA_MISSING', `the job's data ${ref.sha256.slice(0, 12)}… is not in Redis (expired, or the coordinator's Redis was flushed); resume the search to publish it again`);
  const meta = metaSchema.parse(JSON.parse(metaText));
  const parts: Buffer[] = [];
  for (let i = 0; i < meta.chunks; i++) {
    const packed = await redis.getBuffer(key(ref.sha256, i));
    if (!packed) throw new KdError('QUEUE_DATA_MISSING', `chunk ${i} of the job's data ${ref.sha256.slice(0, 12)}… is missing in Redis`);
    parts.push(inflateRawSync(packed));
  }
  const payload = Buffer.concat(parts);
  const sha = hashOf(payload);
  if (sha !== ref.sha256) throw new KdError('QUEUE_DATA_MISSING', `the data fetched for ${ref.sha256.slice(0, 12)}… hashes to ${sha.slice(0, 12)}…; not used`);
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, payload);
  renameSync(tmp, file);
  return { data: unpackData(payload, `data ${ref.sha256.slice(0, 12)}…`), fetched: true };
}
