import { z } from 'zod';

/** How a student's weights are stored: quantized after training, and with QAT also trained for it. */
export const PRECISIONS = ['float32', 'float16', 'int8'] as const;
export const precisionSchema = z.enum(PRECISIONS);
export type Precision = z.infer<typeof precisionSchema>;

/** int8 groups: one scale and minimum per tensor, or per output channel. */
export const QUANTIZATIONS = ['per-tensor', 'per-channel'] as const;
export const quantizationSchema = z.enum(QUANTIZATIONS);
export type Quantization = z.infer<typeof quantizationSchema>;
