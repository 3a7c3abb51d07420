import { z } from 'zod';
import { candidateSchema } from '../space/candidate';
import { cnnSpecSchema, mlpSpecSchema } from '../space/student';
import { BACKEND_CHOICES } from '../model/backend';
import type { EpochRecord } from '../distill/loop';
import type { LayerSummary } from '../model/measure';
import type { PackedWeightEntry } from '../model/weights-pack';
import type { StudentMetrics } from '../distill/trial';
import type { ErrorCode } from '../errors';
import { formatIssues, isErrorCode } from '../errors';
import { layersSchema, metricsSchema, weightManifestSchema } from '../store/rows';

const sab = z.custom<SharedArrayBuffer>((v) => v instanceof SharedArrayBuffer, 'expected a SharedArrayBuffer');

/** One trial as a plain object: what crosses into a worker (validated there). */
export const trialTaskSchema = z.object({
  experiment: z.string(),
  trialNumber: z.number().int().min(0),
  candidate: candidateSchema,
  seed: z.number().int().min(0),
  backend: z.enum(BACKEND_CHOICES),
  data: z.object({
    source: z.string(),
    fingerprint: z.string(),
    inputShape: z.array(z.number().int().positive()),
    numClasses: z.number().int().min(2),
    trainN: z.number().int().positive(),
    testN: z.number().int().positive(),
    trainX: sab,
    trainY: sab,
    testX: sab,
    testY: sab,
    logits: sab.nullable(),
  }),
  teacher: z.object({
    spec: z.union([mlpSpecSchema, cnnSpecSchema]).optional(),
    topology: z.record(z.string(), z.unknown()),
  }),
  /** Where per-epoch progress goes (a transferred MessagePort). */
  progress: z.unknown().optional(),
  /** Fault injection for the runtime's own tests: throw, allocate until the heap limit, or hang. */
  inject: z.enum(['throw', 'oom', 'hang']).optional(),
});
export type TrialTask = z.infer<typeof trialTaskSchema>;

export interface TrialSuccess {
  ok: true;
  backend: string;
  family: string;
  metrics: StudentMetrics;
  curve: EpochRecord[];
  layers: LayerSummary[];
  topology: object;
  manifest: PackedWeightEntry[];
  weights: ArrayBuffer;
  seconds: number;
}

export interface TrialFailure {
  ok: false;
  code: ErrorCode;
  message: string;
  backend?: string;
  seconds?: number;
}

export type TrialOutcome = TrialSuccess | TrialFailure;

const outcomeSchema = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    backend: z.string(),
    family: z.string(),
    metrics: metricsSchema,
    curve: z.array(z.object({ epoch: z.number(), loss: z.number(), kdLoss: z.number(), ceLoss: z.number(), valAccuracy: z.number(), seconds: z.number() })),
    layers: layersSchema,
    topology: z.record(z.string(), z.unknown()),
    manifest: weightManifestSchema,
    weights: z.instanceof(ArrayBuffer),
    seconds: z.number(),
  }),
  z.object({
    ok: z.literal(false),
    code: z.string().refine(isErrorCode, 'a known error code'),
    message: z.string(),
    backend: z.string().optional(),
    seconds: z.number().optional(),
  }),
]);

/** Checks what a worker sent back (a boundary, DESIGN.md rule 10). */
export function parseOutcome(value: unknown): TrialOutcome {
  const r = outcomeSchema.safeParse(value);
  if (r.success) return r.data as TrialOutcome;
  return { ok: false, code: 'TRIAL_CRASHED', message: `the worker returned an invalid result\n${formatIssues(r.error.issues)}` };
}
