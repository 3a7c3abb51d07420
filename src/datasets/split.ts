import { createRng } from '../core/rng';
import type { Split } from './types';

/** Per-class lists of sample indices, in a seeded order. */
function indicesByClass(labels: Int32Array, numClasses: number): number[][] {
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  labels.forEach((label, i) => byClass[label].push(i));
  return byClass;
}

/**
 * Seeded, stratified train/test split: every class keeps the same test
 * fraction, and the same seed always gives the same split.
 */
export function stratifiedSplit(
  all: Split,
  opts: { numClasses: number; testFraction: number; seed: number; featureSize: number },
): { train: Split; test: Split } {
  const rng = createRng('split', opts.seed);
  const trainIdx: number[] = [];
  const testIdx: number[] = [];
  for (const members of indicesByClass(all.y, opts.numClasses)) {
    rng.shuffle(members);
    const nTest = Math.round(members.length * opts.testFraction);
    testIdx.push(...members.slice(0, nTest));
    trainIdx.push(...members.slice(nTest));
  }
  // Interleave classes so a prefix (--train-limit) is still balanced.
  rng.shuffle(trainIdx);
  rng.shuffle(testIdx);
  return { train: take(all, trainIdx, opts.featureSize), test: take(all, testIdx, opts.featureSize) };
}

export function take(all: Split, indices: readonly number[], featureSize: number): Split {
  const x = new Float32Array(indices.length * featureSize);
  const y = new Int32Array(indices.length);
  indices.forEach((src, dst) => {
    x.set(all.x.subarray(src * featureSize, (src + 1) * featureSize), dst * featureSize);
    y[dst] = all.y[src];
  });
  return { x, y, n: indices.length };
}

/** The first `limit` samples of a split (splits are already shuffled). */
export function limitSplit(split: Split, limit: number | undefined, featureSize: number): Split {
  if (limit === undefined || limit >= split.n) return split;
  return {
    x: split.x.subarray(0, limit * featureSize),
    y: split.y.subarray(0, limit),
    n: limit,
  };
}
