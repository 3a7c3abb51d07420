import { z } from 'zod';

/**
 * Latency timings a user's own device posts to `serve --device-bench`: the
 * device as the user names it, and per front student its batch-1 median,
 * p10 and p90 over at least MIN_DEVICE_RUNS timed runs.
 */
export const MIN_DEVICE_RUNS = 50;
export const MAX_DEVICE_TIMINGS = 1000;

export const deviceTimingSchema = z
  .object({
    trial: z.number().int().min(0),
    medianMs: z.number().positive().max(60_000),
    p10Ms: z.number().positive().max(60_000),
    p90Ms: z.number().positive().max(60_000),
    runs: z.number().int().min(MIN_DEVICE_RUNS).max(1_000_000),
  })
  .strict()
  .refine((t) => t.p10Ms <= t.medianMs && t.medianMs <= t.p90Ms, { message: 'expected p10Ms <= medianMs <= p90Ms' });
export type DeviceTiming = z.infer<typeof deviceTimingSchema>;

export const deviceTimingsPostSchema = z
  .object({
    device: z.object({ name: z.string().trim().min(1).max(80) }).strict(),
    timings: z.array(deviceTimingSchema).min(1).max(MAX_DEVICE_TIMINGS),
  })
  .strict();
export type DeviceTimingsPost = z.infer<typeof deviceTimingsPostSchema>;

/** A device of an experiment as stored, with its timings by trial number. */
export interface DeviceRecord {
  id: number;
  name: string;
  userAgent: string;
  createdAt: string;
  timings: Map<number, DeviceTiming>;
}
