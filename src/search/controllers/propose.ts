import type { Candidate } from '../../space/candidate';
import { candidateHash } from '../../space/candidate';
import { sampleCandidate, violation } from '../../space/sample';
import type { AskInput } from '../types';

const MAX_TRIES = 200;

/**
 * Draws from `generate` until it yields a candidate that fits the
 * constraints and was never proposed in this experiment; falls back to
 * uniform sampling, then gives up (the space is exhausted).
 */
export function propose(input: AskInput, generate: () => Candidate): Candidate | undefined {
  const seen = new Set(input.history.map((t) => t.hash));
  const acceptable = (c: Candidate) => !seen.has(candidateHash(c)) && violation(input.space, c, input.spaceContext) === undefined;
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
