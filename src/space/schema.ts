import { z } from 'zod';
import { datasetSpecSchema } from '../core/dataset-spec';
import { latencyEffortSchema, latencyRuntimeSchema } from '../core/metrics';
import { PRECISIONS, QUANTIZATIONS } from '../core/precision';
import { DEFAULT_HINT, SCHEMES, TRAINING_FIELDS, DEFAULT_TRAINING, exitHeadSchema } from '../core/training';

/** A value that is either fixed or a list to search over. */
function choice<T extends z.ZodType>(item: T) {
  return z.union([item, z.array(item).min(1, 'a list to search over needs at least one value')]);
}

export const OBJECTIVE_METRICS = ['accuracy', 'sizeBytes', 'latencyMs', 'params', 'macs'] as const;
export type ObjectiveMetric = (typeof OBJECTIVE_METRICS)[number];
/** accuracy is maximised; every cost is minimised. */
export const MAXIMISED: ReadonlySet<ObjectiveMetric> = new Set(['accuracy']);

const positiveInt = z.number().int().positive();
const widths = choice(z.number().int().min(1).max(4096));
const kernels = choice(z.number().int().min(1).max(11));
const depths = choice(z.number().int().min(1).max(8));

const mlpFamily = z
  .object({
    depth: depths.describe('number of hidden dense layers'),
    units: widths.describe('units per hidden layer'),
  })
  .strict();

const convFamily = z
  .object({
    depth: depths.describe('number of conv blocks (each conv + 2x2 pool)'),
    filters: widths.describe('filters per block'),
    kernel: kernels.describe('square kernel size'),
    dense: choice(z.number().int().min(0).max(4096)).default(0).describe('units of a hidden dense layer before the classifier; 0 = none'),
    norm: choice(z.boolean()).default(false).describe("batch normalization before every block's ReLU (and the hidden dense layer's)"),
    pool: choice(z.enum(['max', 'avg'])).default('max').describe("each block's 2x2 pooling: max or average"),
    head: choice(z.enum(['flatten', 'gap'])).default('flatten').describe('how the last feature map reaches the dense layers: flattened, or global average pooling (gap)'),
  })
  .strict();

const teacherCopyFamily = z
  .object({
    depth: choice(z.number().positive().max(1)).describe("fraction of the teacher's conv blocks kept (a prefix), e.g. 0.5"),
    width: choice(z.number().positive().max(1)).describe("multiplier of the teacher's filters and dense units, e.g. 0.25"),
  })
  .strict();

export const familiesSchema = z
  .object({
    mlp: mlpFamily.optional().describe('shallower / thinner dense networks'),
    cnn: convFamily.optional().describe('general searched CNNs'),
    separable: convFamily
      .optional()
      .describe('efficient operations: a conv stem, then depthwise-separable conv blocks'),
    'teacher-copy': teacherCopyFamily.optional().describe('shallower / thinner copies of the built-in teacher'),
    'born-again': z.object({}).strict().optional().describe("the teacher's own architecture, trained afresh"),
  })
  .strict()
  .refine((f) => Object.values(f).some((v) => v !== undefined), { message: 'declare at least one student family' });

/** Rungs over epochs: a trial pauses after minEpochs * eta^k epochs while that is below its own epochs. */
export const fidelitySchema = z
  .object({
    minEpochs: positiveInt.max(1000).describe('the first rung, in epochs'),
    eta: z.number().int().min(2).max(100).describe('each rung is eta times the last; the best 1/eta of a rung is promoted'),
  })
  .strict();
export type Fidelity = z.infer<typeof fidelitySchema>;

/** A teacher-aware pre-screen: of `samples` proposed candidates, only the best-scored after a short distillation is trained. */
export const prescreenSchema = z
  .object({
    samples: z.number().int().min(2).max(64).describe('candidates the controller proposes for each trial'),
    steps: z.number().int().min(1).max(10000).default(40).describe('distillation steps (batches) each candidate is scored after'),
    evalSamples: z
      .number()
      .int()
      .min(100)
      .max(1000000)
      .default(2000)
      .describe('held-out samples a candidate is scored on (the first of the test split, which is shuffled): scoring on all of it cost more than the steps'),
  })
  .strict();
export type Prescreen = z.infer<typeof prescreenSchema>;

export const searchSpaceSchema = z
  .object({
    name: z.string().min(1).max(100).describe('a name for the space'),
    description: z.string().optional(),
    dataset: datasetSpecSchema.default('mnist').describe('mnist, idx:DIR, csv:FILE or images:DIR; or { source, labelColumn, imageSize, channels, skipBadImages }'),
    teacher: z.string().default('builtin').describe('"builtin", a path to a TF.js layers model.json, or a path to an .onnx model'),
    objectives: z
      .array(z.enum(OBJECTIVE_METRICS))
      .min(1)
      .default(['accuracy', 'sizeBytes', 'latencyMs'])
      .refine((o) => new Set(o).size === o.length, { message: 'objectives must not repeat' })
      .describe('accuracy is maximised, the others minimised'),
    reference: z
      .partialRecord(z.enum(OBJECTIVE_METRICS), z.number())
      .describe('hypervolume reference point: the worst acceptable value of every objective'),
    constraints: z
      .object({
        maxParams: positiveInt.optional(),
        maxMacs: positiveInt.optional(),
        maxSizeBytes: positiveInt.optional(),
        maxLatencyMs: z.number().positive().optional(),
      })
      .strict()
      .default({})
      .describe('hard limits; size limits reject a candidate before training, maxLatencyMs after measuring'),
    latency: z
      .object({
        runtime: latencyRuntimeSchema
          .default('tfjs-wasm')
          .describe("where students' latency is measured: tfjs-wasm (browser and Node deployment) or onnxruntime (onnxruntime-node on the student's ONNX export: native runtimes)"),
        effort: latencyEffortSchema
          .default('careful')
          .describe('careful (warm until timings settle, then until the median is known to 3%) or quick (10 warm-up and 30 timed runs: smoke runs and tests)'),
      })
      .strict()
      .default({ runtime: 'tfjs-wasm', effort: 'careful' }),
    trials: positiveInt.max(100000).default(20).describe('default number of trials of a search'),
    fidelity: fidelitySchema
      .optional()
      .describe('rungs (asynchronous successive halving over all objectives, MO-ASHA): trials pause at minEpochs, minEpochs*eta, ...; the best 1/eta of each rung continue, the rest are pruned when the search ends'),
    prescreen: prescreenSchema
      .optional()
      .describe('teacher-aware pre-screen: the controller proposes `samples` candidates, each is distilled for `steps` batches and scored by its held-out accuracy, and the one that most improves the front by its predicted accuracy is trained'),
    training: z
      .object({
        epochs: choice(TRAINING_FIELDS.epochs),
        batchSize: choice(TRAINING_FIELDS.batchSize).default(DEFAULT_TRAINING.batchSize),
        learningRate: choice(TRAINING_FIELDS.learningRate).default(DEFAULT_TRAINING.learningRate),
        trainLimit: TRAINING_FIELDS.trainLimit.optional().describe('train on the first N training samples only'),
      })
      .strict(),
    distillation: z
      .object({
        temperature: choice(TRAINING_FIELDS.temperature).default(DEFAULT_TRAINING.temperature),
        alpha: choice(TRAINING_FIELDS.alpha).default(DEFAULT_TRAINING.alpha),
      })
      .strict()
      .default({ temperature: DEFAULT_TRAINING.temperature, alpha: DEFAULT_TRAINING.alpha }),
    scheme: choice(z.enum(SCHEMES))
      .default('offline')
      .describe('offline (fixed teacher), online (learn together), self (earlier epochs teach later ones) or self-exits (the deepest exit teaches an exit after every earlier block; cnn, separable and teacher-copy students of 2 blocks or more); a list searches over them'),
    exits: z
      .object({
        teacher: z.boolean().default(false).describe('self-exits: the deepest exit also learns from the offline teacher (Hinton loss)'),
        hint: choice(TRAINING_FIELDS.hint).default(DEFAULT_HINT).describe("self-exits: weight of the L2 between a shallow exit's pooled features and the deepest exit's; a list searches over them"),
        head: choice(exitHeadSchema)
          .default('flatten')
          .describe("self-exits: each shallow exit's head, flatten (the block's output, every position, into one dense layer) or gap (its global average); a list searches over them"),
      })
      .strict()
      .default({ teacher: false, hint: DEFAULT_HINT, head: 'flatten' }),
    precision: choice(z.enum(PRECISIONS)).default('float32'),
    qat: choice(z.boolean()).default(false).describe('quantization-aware training for float16 / int8 students; [false, true] searches both'),
    quantization: choice(z.enum(QUANTIZATIONS)).default('per-tensor'),
    families: familiesSchema,
  })
  .strict()
  .superRefine((space, ctx) => {
    if (options(space.scheme).includes('self-exits') && !EXIT_FAMILIES.some((f) => space.families[f] !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['scheme'],
        message: `self-exits needs a family whose students have blocks to attach exits to (${EXIT_FAMILIES.join(', ')}); the space enables only ${FAMILY_NAMES.filter((f) => space.families[f] !== undefined).join(', ')}`,
      });
    }
    for (const objective of space.objectives) {
      if (space.reference[objective] === undefined) {
        ctx.addIssue({ code: 'custom', path: ['reference', objective], message: `the reference point needs a value for objective "${objective}"` });
      }
    }
  });

export type SearchSpaceInput = z.input<typeof searchSpaceSchema>;
export type SearchSpace = z.output<typeof searchSpaceSchema>;
export type FamilyName = keyof z.output<typeof familiesSchema>;
/** The conv families' network-wide layer choices, each with the value that leaves it out of the genes. */
export const CONV_STYLE_DEFAULTS = { norm: false, pool: 'max', head: 'flatten' } as const;
export type ConvStyleKey = keyof typeof CONV_STYLE_DEFAULTS;

export const FAMILY_NAMES: FamilyName[] = ['mlp', 'cnn', 'separable', 'teacher-copy', 'born-again'];
/** The families whose students are made of blocks, so can have exits (self-exits): an MLP or a born-again copy cannot. */
export const EXIT_FAMILIES: FamilyName[] = ['cnn', 'separable', 'teacher-copy'];

/** A fixed value or a list, as a list. */
export function options<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value];
}
