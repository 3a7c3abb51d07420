import type { Candidate } from '../../space/candidate';
import { candidateHash } from '../../space/candidate';
import { sampleCandidate, violation } from '../../space/sample';
import type { AskInput } from '../types';
import { latencyFeatures, latencyModelOf, predictLatency } from '../latency-model';

const MAX_TRIES = 200;

/**
 * Whether a candidate's predicted latency breaks maxLatencyMs, by the
 * experiment's latency model once it is trusted (search/latency-model.ts);
 * never before, when violators are refused after measuring.
 */
function latencyViolation(input: AskInput): (c: Candidate) => boolean {
  const max = input.space.constraints.maxLatencyMs;
  if (max === undefined) return () => false;
  const model = latencyModelOf(input.history, input.spaceContext);
  if (!model?.trusted) return () => false;
  return (c) => {
    const features = latencyFeatures(c, input.spaceContext);
    return features !== undefined && predictLatency(model, features) > max;
  };
}

/**
 * Draws from `generate` until it yields a candidate that fits the
 * constraints and was never proposed in this experiment; falls back to
 * uniform sampling, then gives up (the space is exhausted).
 */
export function propose(input: AskInput, generate: () => Candidate): Candidate | undefined {
  const seen = new Set(input.history.map((t) => t.hash));
  const tooSlow = latencyViolation(input);
  const acceptable = (c: Candidate) => !seen.has(candidateHash(c)) && violation(input.space, c, input.spaceContext) === undefined && !tooSlow(c);
  for (let i = 0; i < MAX_TRIES; i++) {
    const c = generate();
    if (acceptable(c)) return c;
  }
  for (let i = 0; i < MAX_TRIES; i++) {
    const c = sampleCandidate(input.space, input.spaceContext, input.rng);
    if (acceptable(c)) return c;
  }
  return undefined;
}
