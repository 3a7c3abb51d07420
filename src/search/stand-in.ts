import type { Candidate } from '../space/candidate';
import { estimateSize } from '../space/sample';
import type { SpaceContext } from '../space/sample';
import type { TrialMetrics } from '../core/metrics';

/**
 * A cheap, deterministic stand-in for training, computed from the spec
 * alone, so controllers can be compared over many seeds in seconds
 * (bench:search) and tested without tfjs. Accuracy grows with capacity and
 * saturates, convolutions and distillation help, int8 costs a little;
 * latency follows MACs. Only its shape matters, not its realism.
 */
export function standInMetrics(c: Candidate, ctx: SpaceContext): TrialMetrics {
  const size = estimateSize(c, ctx);
  const conv = c.student.kind !== 'mlp' ? 0.012 : 0;
  const kd = 0.004 * c.training.alpha * Math.min(1, c.training.temperature / 4);
  const quant = c.student.precision === 'int8' ? 0.003 : c.student.precision === 'float16' ? 0.0005 : 0;
  const epochs = 0.01 * (1 - Math.exp(-c.training.epochs / 4));
  const capacity = 0.12 * Math.exp(-size.params / 6000) + 0.05 * Math.exp(-size.macs / 400000);
  const accuracy = Math.min(0.995, 0.965 + conv + kd + epochs - capacity - quant);
  const latencyMs = 0.02 + size.macs / 8e6 + size.params / 4e6;
  return {
    accuracy,
    floatAccuracy: accuracy + quant,
    params: size.params,
    macs: size.macs,
    sizeBytes: size.sizeBytes,
    latencyMs,
    latencyP10Ms: latencyMs,
    latencyP90Ms: latencyMs,
  };
}
