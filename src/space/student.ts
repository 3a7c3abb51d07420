import { z } from 'zod';
import { KdError, formatIssues } from '../core/errors';
import { precisionSchema, quantizationSchema } from '../core/precision';

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
const precision = precisionSchema.default('float32');
const granularity = quantizationSchema.default('per-tensor');
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
