import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hypervolume } from '../src/search/hypervolume';
import { crowdingDistance, dominates, nonDominatedSort, paretoFront } from '../src/search/pareto';
import { createRng } from '../src/core/rng';

test('dominance: better in one, no worse in all', () => {
  assert.equal(dominates([1, 2], [2, 2]), true);
  assert.equal(dominates([1, 2], [1, 2]), false, 'equal points do not dominate');
  assert.equal(dominates([1, 3], [2, 2]), false);
  assert.equal(dominates([1, 1, 1], [1, 1, 2]), true);
});

test('non-dominated sort of hand-made points, with ties and duplicates', () => {
  const points = [
    [1, 5], // 0 front 0
    [2, 3], // 1 front 0
    [2, 3], // 2 duplicate of 1: front 0
    [4, 1], // 3 front 0
    [3, 4], // 4 dominated by 1 -> front 1
    [5, 5], // 5 dominated by 4 -> front 2
    [4, 2], // 6 dominated by 3 only -> front 1
  ];
  const fronts = nonDominatedSort(points).map((f) => [...f].sort());
  assert.deepEqual(fronts, [[0, 1, 2, 3], [4, 6], [5]]);
  assert.deepEqual(paretoFront([]), []);
});

test('the front uses all objectives, not a 2-D projection', () => {
  // In (a, b) point 1 is dominated by point 0, but it is better in c.
  const points = [
    [1, 1, 5],
    [2, 2, 1],
    [3, 3, 6],
  ];
  assert.deepEqual([...paretoFront(points)].sort(), [0, 1]);
});

test('crowding distance: boundaries infinite, inner points by normalised gaps', () => {
  const points = [
    [0, 4],
    [1, 2],
    [2, 1],
    [4, 0],
  ];
  const d = crowdingDistance(points, [0, 1, 2, 3]);
  assert.equal(d[0], Infinity);
  assert.equal(d[3], Infinity);
  // point 1: (2-0)/4 + (4-1)/4 = 1.25; point 2: (4-1)/4 + (2-0)/4 = 1.25
  assert.equal(d[1], 1.25);
  assert.equal(d[2], 1.25);
});

test('hypervolume in 2-D by hand', () => {
  // Staircase of (1,3), (2,2), (3,1) against (4,4): 3*1 + 2*1 + 1*1 ... = 6
  assert.equal(hypervolume([[1, 3], [2, 2], [3, 1]], [4, 4]), 6);
  assert.equal(hypervolume([[1, 1]], [4, 4]), 9);
  assert.equal(hypervolume([[1, 1], [1, 1], [2, 2]], [4, 4]), 9, 'duplicates and dominated points add nothing');
  assert.equal(hypervolume([[5, 1]], [4, 4]), 0, 'points beyond the reference add nothing');
  assert.equal(hypervolume([], [4, 4]), 0);
});

test('hypervolume in 3-D by hand and against Monte Carlo', () => {
  assert.equal(hypervolume([[0, 0, 0]], [1, 2, 3]), 6);
  // Two boxes [0,2]x[0,1]x[0,1] and [0,1]x[0,2]x[0,1], overlap 1: 2 + 2 - 1 = 3
  assert.equal(hypervolume([[0, 1, 0], [1, 0, 0]], [2, 2, 1]), 3);
  const rng = createRng('hv');
  const points = Array.from({ length: 12 }, () => [rng.next(), rng.next(), rng.next()]);
  let inside = 0;
  const samples = 200000;
  for (let i = 0; i < samples; i++) {
    const s = [rng.next(), rng.next(), rng.next()];
    if (points.some((p) => p.every((v, k) => v <= s[k]))) inside++;
  }
  const exact = hypervolume(points, [1, 1, 1]);
  assert.ok(Math.abs(exact - inside / samples) < 0.005, `${exact} vs ${inside / samples}`);
});
