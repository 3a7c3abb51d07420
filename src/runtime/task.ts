import { z } from 'zod';
import { candidateSchema } from '../space/candidate';
import { teacherArchitectureSchema } from '../space/student';
import { BACKEND_CHOICES } from '../core/backends';
import { latencyCalibrationSchema, latencyEffortSchema, latencyRuntimeSchema, metricsSchema } from '../core/metrics';
import { checkpointSchema } from '../core/checkpoint';

const sab = z.custom<SharedArrayBuffer>((v) => v instanceof SharedArrayBuffer, 'expected a SharedArrayBuffer');

/** The dataset and teacher logits in SharedArrayBuffers: made once, handed to every task (DESIGN.md rule 4). */
export const sharedDataSchema = z.object({
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
});
export type SharedData = z.infer<typeof sharedDataSchema>;

/** One trial as a plain object: what crosses into a worker (validated there: a task is data, never code). */
export const trialTaskSchema = z.object({
  experiment: z.string(),
  trialNumber: z.number().int().min(0),
  candidate: candidateSchema,
  seed: z.number().int().min(0),
  backend: z.enum(BACKEND_CHOICES),
  data: sharedDataSchema,
  teacher: teacherArchitectureSchema,
  /** Where the student's latency is measured (the space's latency.runtime). */
  latencyRuntime: latencyRuntimeSchema.default('tfjs-wasm'),
  latencyEffort: latencyEffortSchema.default('careful'),
  /** The experiment's calibrated reference times (model/latency-reference.ts): latencies are placed between them; absent, raw times. */
  latencyReferences: latencyCalibrationSchema.optional(),
  /** Rungs: pause after `stopAt` (below the candidate's epochs); continue from `resume`; reuse the first rung's latency. */
  fidelity: z
    .object({
      stopAt: z.number().int().min(1).optional(),
      resume: checkpointSchema.optional(),
      latency: metricsSchema.pick({ latencyMs: true, latencyP10Ms: true, latencyP90Ms: true, latencyRuntime: true }).optional(),
    })
    .optional(),
  /** A pre-screen instead of the trial: distil for `steps` batches of one epoch, score on `evalSamples` held-out samples, measure nothing else. */
  screen: z.object({ steps: z.number().int().min(1), evalSamples: z.number().int().min(1) }).strict().optional(),
});
/** A task as its makers write it: the fields with defaults may be left out. */
export type TrialTask = z.input<typeof trialTaskSchema>;
