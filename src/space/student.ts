import { z } from 'zod';
import { KdError, formatIssues } from '../core/errors';
import { precisionSchema, quantizationSchema } from '../core/precision';

/**
 * A student architecture as plain JSON. `kind` picks the builder:
 *  - mlp: dense layers;
 *  - cnn: blocks of convolution (`conv`) or depthwise-separable convolution
 *    (`sepconv`, the efficient operation), each optionally with batch
 *    normalization before its ReLU and followed by 2x2 max- or
 *    average-pooling, then a flatten or global average pooling, then dense
 *    layers;
 *  - teacher: the teacher's own architecture, trained afresh (born-again).
 * `precision` says how the trained weights are stored: quantized after
 * training, and with `qat` also trained for that precision.
 */
const precision = precisionSchema.default('float32');
const granularity = quantizationSchema.default('per-tensor');
const units = z.number().int().min(1).max(8192);
const dropout = z.number().min(0).max(0.9).default(0);
/**
 * An optional switch whose "off" is left out of the parsed spec, so specs
 * written before the switch existed keep their candidate hash.
 */
const optionalFlag = z
  .boolean()
  .transform((on) => (on ? true : undefined))
  .optional();
/** Batch normalization after every hidden dense layer, before its ReLU. */
const denseNorm = optionalFlag;

export const convBlockSchema = z
  .object({
    op: z.enum(['conv', 'sepconv']).default('conv'),
    filters: z.number().int().min(1).max(1024),
    kernel: z.number().int().min(1).max(11),
    padding: z.enum(['same', 'valid']).default('same'),
    /** 2x2 pooling at stride 2 after the block: true or 'max' (stored as true), 'avg', or false. */
    pool: z
      .union([z.boolean(), z.enum(['max', 'avg'])])
      .default(true)
      .transform((p): boolean | 'avg' => (p === 'max' ? true : p)),
    /** Batch normalization between the convolution (then without bias) and its ReLU. */
    norm: optionalFlag,
  })
  .strict();

const common = {
  precision,
  quantization: granularity,
  /** Quantization-aware training: fake-quantized weights in the forward pass (straight-through gradient). */
  qat: z.boolean().default(false),
};

export const mlpSpecSchema = z
  .object({
    kind: z.literal('mlp'),
    hidden: z.array(units).max(16).default([]),
    denseNorm,
    dropout,
    ...common,
  })
  .strict();

export const cnnSpecSchema = z
  .object({
    kind: z.literal('cnn'),
    blocks: z.array(convBlockSchema).min(1).max(12),
    /** How the feature map becomes a vector: flatten (the default, stored as absent) or global average pooling. */
    head: z
      .enum(['flatten', 'gap'])
      .transform((h) => (h === 'gap' ? h : undefined))
      .optional(),
    dense: z.array(units).max(8).default([]),
    denseNorm,
    dropout,
    ...common,
  })
  .strict();

export const teacherSpecSchema = z
  .object({
    kind: z.literal('teacher'),
    ...common,
  })
  .strict();

export const studentSpecSchema = z.discriminatedUnion('kind', [mlpSpecSchema, cnnSpecSchema, teacherSpecSchema]);

export type ConvBlock = z.infer<typeof convBlockSchema>;
export type PoolChoice = ConvBlock['pool'];
export type MlpSpec = z.infer<typeof mlpSpecSchema>;
export type CnnSpec = z.infer<typeof cnnSpecSchema>;
export type TeacherSpec = z.infer<typeof teacherSpecSchema>;
export type StudentSpec = z.infer<typeof studentSpecSchema>;

/** How a student's weights are stored and trained for storage. */
export const storageSettingsSchema = z.object(common);
export type StorageSettings = z.infer<typeof storageSettingsSchema>;

/** A spec whose architecture is concrete (no reference to the teacher). */
export const concreteSpecSchema = z.discriminatedUnion('kind', [mlpSpecSchema, cnnSpecSchema]);
export type ConcreteSpec = z.infer<typeof concreteSpecSchema>;

/**
 * The architecture born-again students and online peers copy: the built-in
 * teacher's spec, or (a teacher from disk) its Keras topology JSON.
 */
export const teacherArchitectureSchema = z.object({
  spec: concreteSpecSchema.optional(),
  topology: z.record(z.string(), z.unknown()),
  /** Why there is neither (an ONNX teacher whose layers kdsearch cannot map): named in errors. */
  unmappable: z.string().optional(),
});
export type TeacherArchitecture = z.infer<typeof teacherArchitectureSchema>;

/** Validates a student spec; `origin` names where it came from, for the message. */
export function parseStudentSpec(value: unknown, origin: string): StudentSpec {
  const result = studentSpecSchema.safeParse(value);
  if (!result.success) {
    throw new KdError('SPEC_INVALID', `${origin}: invalid student spec\n${formatIssues(result.error.issues)}`);
  }
  return result.data;
}

/** The family a student belongs to, for reports: mlp, cnn, separable or teacher. */
export function studentFamily(spec: StudentSpec): string {
  if (spec.kind === 'cnn') return spec.blocks.some((b) => b.op === 'sepconv') ? 'separable' : 'cnn';
  return spec.kind;
}

/** A block in a few letters: c16k3, s32k5bn, c8k3avg (avg: average-pooled; bn: batch-normalized). */
function blockSummary(b: ConvBlock): string {
  return `${b.op === 'sepconv' ? 's' : 'c'}${b.filters}k${b.kernel}${b.norm ? 'bn' : ''}${b.pool === 'avg' ? 'avg' : ''}`;
}

/** A student in a few words: "c16k3 c32k3bn s64k3 gap d32 int8". */
export function architectureSummary(s: StudentSpec): string {
  const arch =
    s.kind === 'mlp'
      ? `mlp ${s.hidden.join('-') || 'linear'}${s.denseNorm && s.hidden.length ? 'bn' : ''}`
      : s.kind === 'cnn'
        ? `${s.blocks.map(blockSummary).join(' ')}${s.head === 'gap' ? ' gap' : ''}${s.dense.length ? ` d${s.dense.join('-')}${s.denseNorm ? 'bn' : ''}` : ''}`
        : "teacher's architecture";
  return `${arch} ${s.precision}${s.precision === 'int8' ? ` ${s.quantization}` : ''}${s.qat ? ' QAT' : ''}`;
}
