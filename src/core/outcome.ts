import { z } from 'zod';
import { curveSchema } from './epoch';
import { formatIssues, isErrorCode } from './errors';
import type { ErrorCode } from './errors';
import { layersSchema, metricsSchema } from './metrics';
import { weightManifestSchema } from './weights';
import { checkpointSchema } from './checkpoint';

/** A shallow exit of a self-exits trial (1-based: after block `exit`), measured as a student of its own. */
export const exitOutcomeSchema = z.object({
  exit: z.number().int().min(1),
  metrics: metricsSchema,
  layers: layersSchema,
  topology: z.record(z.string(), z.unknown()),
  manifest: weightManifestSchema,
  weights: z.instanceof(ArrayBuffer),
});
export type ExitOutcome = z.infer<typeof exitOutcomeSchema>;

const successSchema = z.object({
  ok: z.literal(true),
  paused: z.literal(false).optional(),
  backend: z.string(),
  family: z.string(),
  metrics: metricsSchema,
  curve: curveSchema,
  layers: layersSchema,
  /** Keras topology of the student, for export as a TF.js model. */
  topology: z.record(z.string(), z.unknown()),
  manifest: weightManifestSchema,
  weights: z.instanceof(ArrayBuffer),
  /** self-exits: the shallow exits, each a student (the deepest is the trial itself). */
  exits: z.array(exitOutcomeSchema).optional(),
  seconds: z.number(),
});

/** A trial paused at a rung: its metrics there and its checkpoint (core/checkpoint.ts). */
const pausedSchema = z.object({
  ok: z.literal(true),
  paused: z.literal(true),
  backend: z.string(),
  family: z.string(),
  /** The rung: the last epoch trained. */
  epoch: z.number().int().min(1),
  metrics: metricsSchema,
  /** This leg's epochs. */
  curve: curveSchema,
  checkpoint: checkpointSchema,
  seconds: z.number(),
});

/** A pre-screen: the candidate distilled for a few batches, scored by its held-out accuracy (search/prescreen.ts). */
const screenedSchema = z.object({
  ok: z.literal(true),
  screened: z.literal(true),
  backend: z.string(),
  /** Held-out accuracy of the float student after the screen's steps. */
  accuracy: z.number().min(0).max(1),
  /** Mean distillation term over the screen's steps. */
  kdLoss: z.number(),
  seconds: z.number(),
});

const failureSchema = z.object({
  ok: z.literal(false),
  code: z.string().refine(isErrorCode, 'a known error code').transform((c) => c as ErrorCode),
  message: z.string(),
  backend: z.string().optional(),
  seconds: z.number().optional(),
});

/** What a task returns from wherever it ran: metrics, curve and packed weights, a pause at a rung, a pre-screen's score, or a coded failure. */
export const trialOutcomeSchema = z.union([successSchema, pausedSchema, screenedSchema, failureSchema]);
export type TrialOutcome = z.infer<typeof trialOutcomeSchema>;
export type TrialSuccess = z.infer<typeof successSchema>;
export type TrialPaused = z.infer<typeof pausedSchema>;
export type TrialScreened = z.infer<typeof screenedSchema>;
export type TrialFailure = z.infer<typeof failureSchema>;
/** What a trial task (not a pre-screen) yields. */
export type TrialLegOutcome = TrialSuccess | TrialPaused | TrialFailure;

function wrongKind(outcome: TrialOutcome, expected: string): TrialFailure {
  return { ok: false, code: 'INTERNAL', message: `a ${expected} task came back as another kind of result`, seconds: outcome.seconds };
}

/** The outcome of a trial task: a pre-screen's score in its place is an internal error, never a trial result. */
export function legOutcome(outcome: TrialOutcome): TrialLegOutcome {
  return outcome.ok && 'screened' in outcome ? wrongKind(outcome, 'trial') : (outcome as TrialLegOutcome);
}

/** The outcome of a pre-screen task: its score or a failure. */
export function screenOutcome(outcome: TrialOutcome): TrialScreened | TrialFailure {
  return !outcome.ok || 'screened' in outcome ? outcome : wrongKind(outcome, 'pre-screen');
}

/** Checks what a worker sent back (a boundary, DESIGN.md rule 10); a malformed result is the trial's crash. */
export function parseOutcome(value: unknown): TrialOutcome {
  const r = trialOutcomeSchema.safeParse(value);
  if (r.success) return r.data;
  return { ok: false, code: 'TRIAL_CRASHED', message: `the worker returned an invalid result\n${formatIssues(r.error.issues)}` };
}
