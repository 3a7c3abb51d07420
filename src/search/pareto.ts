/**
 * Pareto machinery over objective vectors in which every component is
 * minimised (callers negate maximised metrics). All objectives count: no 2-D
 * projection.
 */

/** a dominates b: no worse in every objective and better in at least one. */
export function dominates(a: readonly number[], b: readonly number[]): boolean {
  let better = false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] > b[i]) return false;
    if (a[i] < b[i]) better = true;
  }
  return better;
}

/**
 * Fast non-dominated sort (Deb et al. 2002): fronts of indices, the first
 * being the non-dominated set. Equal points do not dominate each other, so
 * duplicates share a front.
 */
export function nonDominatedSort(points: ReadonlyArray<readonly number[]>): number[][] {
  const n = points.length;
  const dominatedBy: number[][] = Array.from({ length: n }, () => []);
  const count = new Array<number>(n).fill(0);
  const fronts: number[][] = [[]];
  for (let p = 0; p < n; p++) {
    for (let q = p + 1; q < n; q++) {
      if (dominates(points[p], points[q])) {
        dominatedBy[p].push(q);
        count[q]++;
      } else if (dominates(points[q], points[p])) {
        dominatedBy[q].push(p);
        count[p]++;
      }
    }
  }
  for (let p = 0; p < n; p++) if (count[p] === 0) fronts[0].push(p);
  let i = 0;
  while (fronts[i].length) {
    const next: number[] = [];
    for (const p of fronts[i]) {
      for (const q of dominatedBy[p]) if (--count[q] === 0) next.push(q);
    }
    fronts.push(next);
    i++;
  }
  fronts.pop();
  return fronts;
}

/** Indices of the non-dominated points. */
export function paretoFront(points: ReadonlyArray<readonly number[]>): number[] {
  return points.length ? nonDominatedSort(points)[0] : [];
}

/**
 * Crowding distance of each member of one front (same order as `front`):
 * the sum over objectives of the normalised gap between its neighbours;
 * boundary points get Infinity so they are always kept.
 */
export function crowdingDistance(points: ReadonlyArray<readonly number[]>, front: readonly number[]): number[] {
  const distance = new Array<number>(front.length).fill(0);
  if (front.length <= 2) return distance.fill(Infinity);
  const dims = points[front[0]].length;
  for (let m = 0; m < dims; m++) {
    const order = front.map((_, k) => k).sort((a, b) => points[front[a]][m] - points[front[b]][m]);
    const lo = points[front[order[0]]][m];
    const hi = points[front[order[order.length - 1]]][m];
    distance[order[0]] = Infinity;
    distance[order[order.length - 1]] = Infinity;
    if (hi === lo) continue;
    for (let k = 1; k < order.length - 1; k++) {
      distance[order[k]] += (points[front[order[k + 1]]][m] - points[front[order[k - 1]]][m]) / (hi - lo);
    }
  }
  return distance;
}
