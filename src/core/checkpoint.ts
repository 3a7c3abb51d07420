import { z } from 'zod';

const count = z.number().int().min(0);

/**
 * Where a paused trial's float32 tensors sit in its checkpoint buffer, in
 * this order: the model's weights (model.getWeights, moving statistics
 * included), the scheme's own state (online: the peer's weights;
 * self-exits: the exit heads; offline and self: none, the self scheme's
 * targets being recomputed from the model at the next epoch), then the
 * optimizer's (tf.train.adam's layout: the step count, first moments,
 * second moments).
 */
export const checkpointManifestSchema = z.object({
  /** The last epoch trained: the next leg starts at epoch + 1. */
  epoch: z.number().int().min(1),
  parts: z.object({ model: count, scheme: count, optimizer: count }),
  shapes: z.array(z.array(count)),
});
export type CheckpointManifest = z.infer<typeof checkpointManifestSchema>;

export function checkpointFloats(manifest: CheckpointManifest): number {
  return manifest.shapes.reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
}

/** Everything a paused trial needs to continue where it stopped (DESIGN.md rule 3: data, never live objects). */
export const checkpointSchema = checkpointManifestSchema
  .extend({ data: z.instanceof(ArrayBuffer) })
  .superRefine((c, ctx) => {
    const { model, scheme, optimizer } = c.parts;
    if (model + scheme + optimizer !== c.shapes.length) {
      ctx.addIssue({ code: 'custom', path: ['parts'], message: `parts count ${model + scheme + optimizer} tensors, shapes ${c.shapes.length}` });
    }
    const expected = checkpointFloats(c) * 4;
    if (c.data.byteLength !== expected) {
      ctx.addIssue({ code: 'custom', path: ['data'], message: `expected ${expected} bytes (float32 values of the shapes), got ${c.data.byteLength}` });
    }
  });
export type Checkpoint = z.infer<typeof checkpointSchema>;
