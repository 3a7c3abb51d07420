import { z } from 'zod';

/** One point of a learning curve. */
export const epochRecordSchema = z.object({
  epoch: z.number().int().min(1),
  /** Mean training loss (the full objective) over the epoch's batches. */
  loss: z.number(),
  /** Mean distillation term KL(p_t || p_s) at temperature T (0 without a teacher). */
  kdLoss: z.number(),
  /** Mean cross-entropy against the labels. */
  ceLoss: z.number(),
  /** Top-1 accuracy on the held-out split after this epoch. */
  valAccuracy: z.number(),
  /** Wall time of the epoch, evaluation included. */
  seconds: z.number(),
});
export type EpochRecord = z.infer<typeof epochRecordSchema>;
export const curveSchema = z.array(epochRecordSchema);
