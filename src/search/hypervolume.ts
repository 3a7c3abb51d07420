/**
 * Hypervolume dominated by a set of points (all objectives minimised) and
 * bounded by a reference point: the volume of the union of boxes
 * [p, ref]. Points not strictly better than the reference in every
 * objective contribute nothing. Exact, by slicing along the last objective
 * (HSO); fine for the few hundred points of a search.
 */
export function hypervolume(points: ReadonlyArray<readonly number[]>, reference: readonly number[]): number {
  const inside = points.filter((p) => p.every((v, i) => v < reference[i]));
  return slice(inside, reference, reference.length);
}

function slice(points: ReadonlyArray<readonly number[]>, ref: readonly number[], dims: number): number {
  if (points.length === 0) return 0;
  if (dims === 1) return ref[0] - Math.min(...points.map((p) => p[0]));
  if (dims === 2) return area(points, ref);
  const last = dims - 1;
  const sorted = [...points].sort((a, b) => a[last] - b[last]);
  let volume = 0;
  for (let i = 0; i < sorted.length; i++) {
    const top = i + 1 < sorted.length ? sorted[i + 1][last] : ref[last];
    const height = top - sorted[i][last];
    if (height > 0) volume += slice(sorted.slice(0, i + 1), ref, last) * height;
  }
  return volume;
}

/** 2-D sweep: sort by the first objective, add each step of the staircase. */
function area(points: ReadonlyArray<readonly number[]>, ref: readonly number[]): number {
  const sorted = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let total = 0;
  let bestY = ref[1];
  for (let i = 0; i < sorted.length; i++) {
    const [x, y] = sorted[i];
    if (y < bestY) {
      const nextX = ref[0];
      total += (nextX - x) * (bestY - y);
      bestY = y;
    }
  }
  return total;
}
