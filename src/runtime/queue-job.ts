import { z } from 'zod';
import { formatIssues } from '../core/errors';

/**
 * What a queue job and its result carry (DESIGN.md rule 3: data, never
 * code). A worker refuses a job whose protocol differs from its own: the
 * task schema changes with kdsearch's version.
 */
export const QUEUE_PROTOCOL = `kdsearch-queue/1 (${(require('../../../package.json') as { version: string }).version})`;

/** The dataset and teacher logits a job trains on, by content (runtime/queue-data.ts). */
export const dataRefSchema = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().positive(),
});
export type DataRef = z.infer<typeof dataRefSchema>;

export const queueJobSchema = z.object({
  protocol: z.string(),
  experiment: z.string(),
  trialNumber: z.number().int().min(0),
  data: dataRefSchema,
  /** The trial task without its data (runtime/task.ts), buffers on the wire as base64 (toWire). */
  task: z.record(z.string(), z.unknown()),
  timeLimitSec: z.number().positive().optional(),
});
export type QueueJob = z.infer<typeof queueJobSchema>;

/** Why a worker refuses a job, or undefined when it takes it. */
export function refusal(raw: unknown): string | undefined {
  const r = queueJobSchema.safeParse(raw);
  if (!r.success) return `the job is not a kdsearch trial job\n${formatIssues(r.error.issues)}`;
  if (r.data.protocol !== QUEUE_PROTOCOL) return `the job was made by ${r.data.protocol}; this worker is ${QUEUE_PROTOCOL}: run the same kdsearch version on the coordinator and the workers`;
  return undefined;
}

/**
 * The job id of a trial's leg, or of the pre-screen of one candidate proposed
 * for a trial (named by the candidate's hash): re-enqueueing after a crash
 * names the same job (BullMQ ignores a second add).
 */
export function jobId(trialNumber: number, leg: { fromEpoch: number } | { screenOf: string }): string {
  return 'screenOf' in leg ? `trial-${trialNumber}-screen-${leg.screenOf}` : `trial-${trialNumber}-from-${leg.fromEpoch}`;
}

const BYTES = '$base64';

/** JSON-safe copy of a value: ArrayBuffers become { $base64 } (job data and results are JSON in Redis). */
export function toWire(value: unknown): unknown {
  if (value instanceof ArrayBuffer) return { [BYTES]: Buffer.from(value).toString('base64') };
  if (Array.isArray(value)) return value.map(toWire);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toWire(v)]));
  return value;
}

/** The inverse of toWire; the result is then validated by its own schema. */
export function fromWire(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromWire);
  if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 1 && entries[0][0] === BYTES && typeof entries[0][1] === 'string') {
      const b = Buffer.from(entries[0][1], 'base64');
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, fromWire(v)]));
  }
  return value;
}
