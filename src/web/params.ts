import { z } from 'zod';
import { OBJECTIVE_METRICS } from '../space/schema';

/** Route parameters and query strings, validated before any lookup (a bad one is a 400). */
export const experimentParams = z.object({ name: z.string().min(1).max(200) });
export const trialParams = experimentParams.extend({ number: z.string().regex(/^\d{1,9}$/, 'a trial number').transform(Number) });
export const chartQuery = z
  .object({
    x: z.enum(OBJECTIVE_METRICS).optional(),
    y: z.enum(OBJECTIVE_METRICS).optional(),
    c: z.enum(OBJECTIVE_METRICS).optional(),
    enc: z.enum(['colour', 'size']).optional(),
  })
  .strict();
export const noQuery = z.object({}).strict();
