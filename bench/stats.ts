import { pearson, ranks } from '../src/core/rank';

/** Summary statistics for benchmark tables. */
export function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

export function sampleStd(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((a, b) => a + (b - m) ** 2, 0) / (values.length - 1));
}

export { median } from '../src/core/rank';

/** Reads `--name value` from argv. */
export function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

/**
 * Spearman rank correlation of `measured` against `reference`, where
 * students whose reference 95% intervals overlap (chained in order of
 * their reference medians) count as ties: identical work, such as a
 * float32 student and its int8 twin, has no true order. Returns the
 * correlation and each student's tie group.
 */
export function tiedSpearman(measured: readonly number[], reference: readonly number[], intervals: ReadonlyArray<readonly [number, number]>): { spearman: number; groups: number[] } {
  const order = reference.map((m, i) => [m, i] as const).sort((a, b) => a[0] - b[0]).map(([, i]) => i);
  const groups = new Array<number>(reference.length);
  let g = 0;
  order.forEach((i, k) => {
    if (k > 0 && intervals[i][0] > intervals[order[k - 1]][1]) g++;
    groups[i] = g;
  });
  const tiedRanks = (values: readonly number[]) => {
    const r = ranks(values);
    return r.map((_, i) => mean(r.filter((__, j) => groups[j] === groups[i])));
  };
  return { spearman: pearson(tiedRanks(measured), tiedRanks(reference)), groups };
}
