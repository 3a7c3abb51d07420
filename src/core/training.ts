import { z } from 'zod';

/**
 * offline: a fixed teacher; online: teacher-side and student learn together;
 * self: the student's earlier epochs teach its later ones; self-exits: its
 * deepest exit teaches an exit after every earlier block (each exit a student).
 */
export const SCHEMES = ['offline', 'online', 'self', 'self-exits'] as const;
export const schemeSchema = z.enum(SCHEMES);

/** A self-exits exit's head: flatten (every position, one dense layer) or gap (global average pooling, then the dense layer). */
export const EXIT_HEADS = ['flatten', 'gap'] as const;
export const exitHeadSchema = z.enum(EXIT_HEADS);
export type ExitHead = z.infer<typeof exitHeadSchema>;
export type Scheme = z.infer<typeof schemeSchema>;

/**
 * The bounds of every training setting, in one place: the space's choices,
 * the CLI's flags and the candidate a worker receives all use these.
 */
export const TRAINING_FIELDS = {
  epochs: z.number().int().min(1).max(1000),
  batchSize: z.number().int().min(1).max(4096),
  learningRate: z.number().positive().max(1),
  temperature: z.number().positive().max(100),
  alpha: z.number().min(0).max(1),
  /** self-exits: weight of the L2 between a shallow exit's features and the deepest exit's. */
  hint: z.number().min(0).max(100),
  /** Use only the first N training samples (quick experiments, tests). */
  trainLimit: z.number().int().min(1),
  seed: z.number().int().min(0),
} as const;

/** How a candidate is trained: one draw from the space's training choices. */
export const trainingSettingsSchema = z
  .object({
    epochs: TRAINING_FIELDS.epochs,
    batchSize: TRAINING_FIELDS.batchSize,
    learningRate: TRAINING_FIELDS.learningRate,
    temperature: TRAINING_FIELDS.temperature,
    alpha: TRAINING_FIELDS.alpha,
    // Rows written before schemes existed were offline.
    scheme: schemeSchema.default('offline'),
    trainLimit: TRAINING_FIELDS.trainLimit.optional(),
    /** self-exits only (absent otherwise, so other candidates keep their hash): the hint weight. */
    hint: TRAINING_FIELDS.hint.optional(),
    /** self-exits only: whether the deepest exit also learns from the offline teacher (Hinton's loss). */
    exitsTeacher: z.boolean().optional(),
    /** self-exits only: a shallow exit's head, the classifier over its block's output flattened, or over its global average. */
    exitHead: exitHeadSchema.optional(),
  });
export type TrainingSettings = z.infer<typeof trainingSettingsSchema>;

/** What one training run needs: the candidate's settings and the seed of its initialisation and batch order. */
export const trainingConfigSchema = trainingSettingsSchema.extend({ seed: TRAINING_FIELDS.seed });
export type TrainingConfig = z.infer<typeof trainingConfigSchema>;

/**
 * self-exits' hint weight when a space gives none: BYOT's (Zhang et al. 2019)
 * feature-loss coefficient, on features averaged over positions.
 */
export const DEFAULT_HINT = 0.03;

/** Defaults of `kdsearch distill` and of a space that leaves them out, chosen by measurement (README, "Defaults"). */
export const DEFAULT_TRAINING = {
  epochs: 12,
  batchSize: 64,
  learningRate: 0.002,
  temperature: 4,
  alpha: 0.7,
  scheme: 'offline',
  seed: 0,
} as const satisfies TrainingConfig;
