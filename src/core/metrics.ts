import { z } from 'zod';

/**
 * The measured metrics of a trained student (DESIGN.md rule 8): accuracy is
 * top-1 on the held-out split at the stored precision; sizeBytes the stored
 * weight bytes; latency the single-sample inference time after warm-up.
 */
export const metricsSchema = z.object({
  accuracy: z.number(),
  /** The float32 weights' accuracy, before quantization. */
  floatAccuracy: z.number(),
  /** Online distillation: the teacher-side network's accuracy. */
  peerAccuracy: z.number().optional(),
  params: z.number(),
  macs: z.number(),
  sizeBytes: z.number(),
  latencyMs: z.number(),
  latencyP10Ms: z.number(),
  latencyP90Ms: z.number(),
  /** What measured the latency (e.g. tfjs-wasm, onnxruntime-node); absent in trials stored before the choice existed (tfjs). */
  latencyRuntime: z.string().optional(),
  /**
   * A careful measurement: false when the machine stayed in a slow spell
   * longer than the measurement waits for one (model/latency.ts), so the
   * latency was timed in it, placed between the references but less sure;
   * absent with the quick effort and in trials stored before.
   */
  latencyFullSpeed: z.boolean().optional(),
});
export type TrialMetrics = z.infer<typeof metricsSchema>;

/**
 * Where a student's latency is measured: in tfjs on the trial's backend
 * (the browser and Node deployment), or in onnxruntime-node on the
 * student's ONNX export (the native runtimes' measure).
 */
export const LATENCY_RUNTIMES = ['tfjs-wasm', 'onnxruntime'] as const;
export const latencyRuntimeSchema = z.enum(LATENCY_RUNTIMES);
export type LatencyRuntime = z.infer<typeof latencyRuntimeSchema>;

/**
 * How hard latency is measured: careful (the definition: warm until the
 * timings settle, alone, until the median is known to +/- 3%) or quick
 * (10 warm-up runs and 30 timed ones, alone: for smoke runs and tests,
 * where the ranking of close students is not to be trusted).
 */
export const LATENCY_EFFORTS = ['careful', 'quick'] as const;
export const latencyEffortSchema = z.enum(LATENCY_EFFORTS);
export type LatencyEffort = z.infer<typeof latencyEffortSchema>;

/** The reference networks every latency is measured beside (model/latency-reference.ts), smallest first. */
export const REFERENCE_NAMES = ['small', 'medium', 'large'] as const;
export type ReferenceName = (typeof REFERENCE_NAMES)[number];

/** Each reference network's batch-1 time at the machine's full speed (ms): an experiment's latency scale. */
export const latencyCalibrationSchema = z.object({ small: z.number().positive(), medium: z.number().positive(), large: z.number().positive() }).strict();
export type LatencyCalibration = z.infer<typeof latencyCalibrationSchema>;

/** What distillation bought: accuracy with it minus that of the from-scratch twin (alpha = 0, same seed and epochs). */
export function distillationGain(withKd: number, fromScratch: number): number {
  return withKd - fromScratch;
}

/** Size of a candidate counted from its spec before training (failed trials keep it too). */
export const sizeEstimateSchema = z.object({ params: z.number(), macs: z.number(), sizeBytes: z.number() });
export type SizeEstimate = z.infer<typeof sizeEstimateSchema>;

/** The teacher of an experiment as stored beside it, measured like every student. */
export const teacherInfoSchema = z.object({
  source: z.string(),
  accuracy: z.number(),
  params: z.number(),
  macs: z.number(),
  sizeBytes: z.number(),
  latencyMs: z.number(),
  /** Where the teacher's latency was measured, when not in tfjs like the students (an ONNX teacher: onnxruntime). */
  latencyRuntime: z.string().optional(),
});
export type TeacherInfo = z.infer<typeof teacherInfoSchema>;

/** One layer as the report shows it. */
export const layerSummarySchema = z.object({ type: z.string(), outputShape: z.array(z.number()), params: z.number(), macs: z.number() });
export type LayerSummary = z.infer<typeof layerSummarySchema>;
export const layersSchema = z.array(layerSummarySchema);
