import { z } from 'zod';
import { KdError, formatIssues } from '../errors';

/** Schemas of the JSON columns, checked when read back (DESIGN.md rule 10). */
export const metricsSchema = z.object({
  accuracy: z.number(),
  floatAccuracy: z.number(),
  peerAccuracy: z.number().optional(),
  params: z.number(),
  macs: z.number(),
  sizeBytes: z.number(),
  latencyMs: z.number(),
  latencyP10Ms: z.number(),
  latencyP90Ms: z.number(),
});

/** Size of a candidate computed from its spec before training (failed trials keep it too). */
export const estimateSchema = z.object({ params: z.number(), macs: z.number(), sizeBytes: z.number() });

export const layersSchema = z.array(z.object({ type: z.string(), outputShape: z.array(z.number()), params: z.number(), macs: z.number() }));

export const teacherInfoSchema = z.object({
  source: z.string(),
  accuracy: z.number(),
  params: z.number(),
  macs: z.number(),
  sizeBytes: z.number(),
  latencyMs: z.number(),
});
export type TeacherInfo = z.infer<typeof teacherInfoSchema>;

export const weightManifestSchema = z.array(
  z.object({
    name: z.string(),
    shape: z.array(z.number().int().min(0)),
    precision: z.enum(['float32', 'float16', 'int8']),
    byteOffset: z.number().int().min(0),
    byteLength: z.number().int().min(0),
    scale: z.array(z.number()).optional(),
    min: z.array(z.number()).optional(),
  }),
);
export type WeightManifest = z.infer<typeof weightManifestSchema>;

/** Parses a JSON column and validates it; a mismatch is STORE_CORRUPT naming the row. */
export function readJson<T>(schema: z.ZodType<T>, text: string | null, where: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text ?? 'null');
  } catch (err) {
    throw new KdError('STORE_CORRUPT', `${where}: stored JSON does not parse (${(err as Error).message})`);
  }
  const r = schema.safeParse(value);
  if (!r.success) throw new KdError('STORE_CORRUPT', `${where}: stored JSON does not match its schema\n${formatIssues(r.error.issues)}`);
  return r.data;
}
