import { z } from 'zod';
import { precisionSchema } from './precision';

/** Where one weight tensor sits in a student's packed weight buffer, and how to dequantize it. */
export const weightEntrySchema = z.object({
  name: z.string(),
  shape: z.array(z.number().int().min(0)),
  precision: precisionSchema,
  byteOffset: z.number().int().min(0),
  byteLength: z.number().int().min(0),
  /** int8: one scale per group (per tensor or per output channel). */
  scale: z.array(z.number()).optional(),
  /** int8: one minimum per group. */
  min: z.array(z.number()).optional(),
});
export type WeightEntry = z.infer<typeof weightEntrySchema>;
export const weightManifestSchema = z.array(weightEntrySchema);
export type WeightManifest = z.infer<typeof weightManifestSchema>;
