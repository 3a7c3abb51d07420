import { z } from 'zod';
import { KdError, formatIssues } from '../errors';

/**
 * A student architecture as plain JSON. `kind` picks the builder:
 *  - mlp: dense layers;
 *  - cnn: blocks of convolution (`conv`) or depthwise-separable convolution
 *    (`sepconv`, the efficient operation), each optionally followed by 2x2
 *    max-pooling, then dense layers;
 *  - teacher: the teacher's own architecture, trained afresh (born-again).
 * `precision` says how the trained weights are stored: quantized after
 * training, and with `qat` also trained for that precision.
 */
export const PRECISIONS = ['float32', 'float16', 'int8'] as const;
export type Precision = (typeof PRECISIONS)[number];

const precision = z.enum(PRECISIONS).default('float32');
const granularity = z.enum(['per-tensor', 'per-channel']).default('per-tensor');
const units = z.number().int().min(1).max(8192);
const dropout = z.number().min(0).max(0.9).default(0);

export const convBlockSchema = z
  .object({
    op: z.enum(['conv', 'sepconv']).default('conv'),
    filters: z.number().int().min(1).max(1024),
    kernel: z.number().int().min(1).max(11),
    padding: z.enum(['same', 'valid']).default('same'),
    pool: z.boolean().default(true),
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
    dropout,
    ...common,
  })
  .strict();

export const cnnSpecSchema = z
  .object({
    kind: z.literal('cnn'),
    blocks: z.array(convBlockSchema).min(1).max(12),
    dense: z.array(units).max(8).default([]),
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
export type MlpSpec = z.infer<typeof mlpSpecSchema>;
export type CnnSpec = z.infer<typeof cnnSpecSchema>;
export type TeacherSpec = z.infer<typeof teacherSpecSchema>;
export type StudentSpec = z.infer<typeof studentSpecSchema>;
export const SCHEMES = ['offline', 'online', 'self'] as const;
/** offline: a fixed teacher; online: teacher-side and student learn together; self: the student teaches itself. */
export type Scheme = (typeof SCHEMES)[number];

/** How a student's weights are stored and trained for storage. */
export interface StorageSettings {
  precision: Precision;
  quantization: 'per-tensor' | 'per-channel';
  qat: boolean;
}

/** A spec whose architecture is concrete (no reference to the teacher). */
export type ConcreteSpec = MlpSpec | CnnSpec;

/** Validates a student spec; `origin` names where it came from, for the message. */
export function parseStudentSpec(value: unknown, origin: string): StudentSpec {
  const result = studentSpecSchema.safeParse(value);
  if (!result.success) {
    throw new KdError('SPEC_INVALID', `${origin}: invalid student spec\n${formatIssues(result.error.issues)}`, {
      origin,
    });
  }
  return result.data;
}

/** The family a student belongs to, for reports: mlp, cnn, separable or teacher. */
export function studentFamily(spec: StudentSpec): string {
  if (spec.kind === 'cnn') return spec.blocks.some((b) => b.op === 'sepconv') ? 'separable' : 'cnn';
  return spec.kind;
}

/** A student in a few words: "c16k3 c32k3 s64k3 d32 int8". */
export function architectureSummary(s: StudentSpec): string {
  const arch =
    s.kind === 'mlp'
      ? `mlp ${s.hidden.join('-') || 'linear'}`
      : s.kind === 'cnn'
        ? `${s.blocks.map((b) => `${b.op === 'sepconv' ? 's' : 'c'}${b.filters}k${b.kernel}`).join(' ')}${s.dense.length ? ` d${s.dense.join('-')}` : ''}`
        : "teacher's architecture";
  return `${arch} ${s.precision}${s.precision === 'int8' ? ` ${s.quantization}` : ''}${s.qat ? ' QAT' : ''}`;
}
