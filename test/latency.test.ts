import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bracket, measureAdaptive, measureAtFullSpeed, measureWarmAndAlone, medianInterval, placeOnLine } from '../src/model/latency';
import { errorCodeOf } from '../src/core/errors';
import { inUnitsOfMedium } from '../src/model/latency-reference';
import { quantile, ranks, spearman } from '../src/core/rank';

test('the median and its 95% interval, from order statistics, by hand', () => {
  const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(quantile(sorted, 0.5), 50.5);
  // n = 100: ranks 50 -/+ 1.96 * 10 / 2 = 40.2 and 59.8, floor and ceil: the 40th and 60th values.
  assert.deepEqual(medianInterval(sorted), [40, 60]);
  assert.deepEqual(medianInterval([3]), [3, 3]);
});

test('timed runs stop once the median is known to +/- 3%, and run on to the budget when it is not', async () => {
  const busy = (ms: number) => {
    const start = performance.now();
    while (performance.now() - start < ms);
  };
  const steady = await measureAdaptive(async () => busy(0.3));
  assert.ok(steady.runs >= 30 && steady.runs <= 60, `a steady 0.3 ms settles at once: ${steady.runs} runs`);
  assert.ok(Math.abs(steady.medianMs - 0.3) < 0.1 && steady.ciLowMs <= steady.medianMs && steady.medianMs <= steady.ciHighMs);
  // Half the runs 0.1 ms, half 1 ms: the median is never pinned down; the run cap ends it.
  let k = 0;
  const bimodal = await measureAdaptive(async () => busy(k++ % 2 ? 1 : 0.1), { maxRuns: 200 });
  assert.equal(bimodal.runs, 200);
  assert.ok(bimodal.p10Ms < 0.3 && bimodal.p90Ms > 0.9);
});

const busy = (ms: number) => {
  const start = performance.now();
  while (performance.now() - start < ms);
};

test('a run is placed on the line through the two references that bracket it: by hand', () => {
  // Slow spell: now = 1.2 * full + 0.1. References 0.1 and 0.6 ms at full speed run 0.22 and 0.82; the model's 0.58 was 0.4.
  assert.ok(Math.abs(placeOnLine(0.58, { now: 0.22, full: 0.1 }, { now: 0.82, full: 0.6 }) - 0.4) < 1e-12);
  // References that did not rise with their full-speed times (a disturbed run): the ratio to the nearer one, 0.3 / 0.4 * 0.6.
  assert.ok(Math.abs(placeOnLine(0.3, { now: 0.5, full: 0.1 }, { now: 0.4, full: 0.6 }) - 0.45) < 1e-12);
  assert.deepEqual(bracket([0.03, 0.07, 0.26], 0.02), [0, 1]);
  assert.deepEqual(bracket([0.03, 0.07, 0.26], 0.05), [0, 1]);
  assert.deepEqual(bracket([0.03, 0.07, 0.26], 0.1), [1, 2]);
  assert.deepEqual(bracket([0.03, 0.07, 0.26], 0.5), [1, 2]);
});

test("an experiment stored with the medium reference alone gets the other two in that reference's units", () => {
  // Calibrated today at 0.03, 0.06 and 0.24 ms; the experiment stored 0.07 ms for the medium one: 7/6 of today's.
  const extended = inUnitsOfMedium({ small: 0.03, medium: 0.06, large: 0.24 }, 0.07);
  assert.equal(extended.medium, 0.07);
  assert.ok(Math.abs(extended.small - 0.035) < 1e-12 && Math.abs(extended.large - 0.28) < 1e-12, JSON.stringify(extended));
});

test('with references, a machine switching speeds mid-measurement changes nothing, whether a slow spell multiplies or adds', async () => {
  let runs = 0;
  // Every other block of 120 runs (20 timed samples of 6 runs) the machine is slow: 1.3 x and 0.1 ms more per run.
  const slow = () => Math.floor(runs / 120) % 2 === 1;
  const network = (fullMs: number) => async () => {
    busy(slow() ? 1.3 * fullMs + 0.1 : fullMs);
    runs++;
  };
  const reference = { networks: [{ runOnce: network(0.1), nominalMs: 0.1 }, { runOnce: network(0.6), nominalMs: 0.6 }, { runOnce: network(1.5), nominalMs: 1.5 }] };
  const placed = await measureAdaptive(network(0.4), { reference, minRuns: 120, maxRuns: 120 });
  assert.ok(Math.abs(placed.medianMs - 0.4) < 0.02, `placed median ${placed.medianMs}`);
  // A ratio to the 0.1 ms reference alone would read (1.3 * 0.4 + 0.1) / (1.3 * 0.1 + 0.1) * 0.1 = 0.27 ms in slow spells.
  assert.ok(placed.p90Ms - placed.p10Ms < 0.05, `placed spread ${placed.p10Ms}..${placed.p90Ms}`);
  assert.ok(placed.referenceMs! > 0.09 && placed.referenceMs! < 0.25, `the lower reference's raw median ${placed.referenceMs}`);
  runs = 0;
  // Raw, one run per timed sample: 480 runs, so as many slow blocks as fast ones.
  const raw = await measureAdaptive(network(0.4), { minRuns: 480, maxRuns: 480 });
  assert.ok(raw.p90Ms > 0.55 && raw.p10Ms < 0.45, `raw times show both speeds: ${raw.p10Ms}..${raw.p90Ms}`);
  await assert.rejects(measureAdaptive(network(0.4), { reference: { networks: [reference.networks[0]] } }), (err) => errorCodeOf(err) === 'INTERNAL');
});

test('with references, each timed run follows an untimed run of the same network: a network slowed by running after another (its caches refilled) does not bias the placement', async () => {
  // After another network each costs more: the references 0.1 -> 0.15 and 0.5 -> 0.6 ms, the model 0.3 -> 0.35 ms.
  let last = '';
  const run = (name: string, warm: number, cold: number) => async () => {
    busy(last === name ? warm : cold);
    last = name;
  };
  const reference = { networks: [{ runOnce: run('low', 0.1, 0.15), nominalMs: 0.1 }, { runOnce: run('high', 0.5, 0.6), nominalMs: 0.5 }] };
  const placed = await measureAdaptive(run('model', 0.3, 0.35), { reference, minRuns: 60, maxRuns: 60 });
  // 0.3 ms; each timed right after another network it would be (0.35 - 0.0375) / 1.125 = 0.278
  assert.ok(Math.abs(placed.medianMs - 0.3) < 0.012, `placed median ${placed.medianMs}`);
  assert.ok(Math.abs(placed.referenceMs! - 0.1) < 0.02, `the lower reference timed warm: ${placed.referenceMs}`);
});

test('a careful measurement waits out a slow spell that slows the model unlike the references, and gives up after its limit', async () => {
  // The first 0.6 s the references run 1.6x slower and the model 1.3x: placed between them, the model would read about 0.33 ms, not 0.4.
  let spellEnds = performance.now() + 600;
  const network = (fullMs: number, spellFactor: number) => async () => busy(performance.now() < spellEnds ? spellFactor * fullMs : fullMs);
  // Nominal times unlike other tests': this process's fastest slowdown is kept per calibration.
  const reference = { networks: [{ runOnce: network(0.11, 1.6), nominalMs: 0.11 }, { runOnce: network(0.61, 1.6), nominalMs: 0.61 }] };
  const started = performance.now();
  const waited = await measureAtFullSpeed(network(0.4, 1.3), { reference, minRuns: 30, maxRuns: 30 });
  assert.ok(performance.now() - started >= 600, 'measured after the spell');
  assert.ok(Math.abs(waited.medianMs - 0.4) < 0.02 && waited.fullSpeed === true, `after the spell: ${waited.medianMs}`);
  assert.ok(Math.abs(waited.slowdown! - 1) < 0.1 && waited.runs === 90, `three parts of 30 runs at full speed: ${waited.slowdown}, ${waited.runs}`);
  // A worker that has run at full speed, then a spell longer than the wait: measured in it after 0.3 s, placed, and marked.
  const reference2 = { networks: [{ runOnce: network(0.12, 1.6), nominalMs: 0.12 }, { runOnce: network(0.62, 1.6), nominalMs: 0.62 }] };
  assert.equal((await measureAtFullSpeed(network(0.4, 1.3), { reference: reference2, minRuns: 30, maxRuns: 30 })).fullSpeed, true);
  spellEnds = performance.now() + 60_000;
  const gaveUp = await measureAtFullSpeed(network(0.4, 1.3), { reference: reference2, minRuns: 30, maxRuns: 30, slowSpellWaitMs: 300 });
  assert.equal(gaveUp.fullSpeed, false);
  assert.ok(gaveUp.medianMs < 0.37 && gaveUp.slowdown! > 1.5, `in the spell: ${gaveUp.medianMs} at ${gaveUp.slowdown}`);
  // Then that speed is this worker's full speed: the next measurement in the same spell does not wait again.
  const next = performance.now();
  const after = await measureAtFullSpeed(network(0.4, 1.3), { reference: reference2, minRuns: 30, maxRuns: 30 });
  assert.ok(after.fullSpeed === true && performance.now() - next < 2000, `measured at once: ${performance.now() - next} ms`);
});

test("a careful measurement is the middle of three parts: one part disturbed throughout does not move it", async () => {
  let modelRuns = 0;
  // The first part (10 settling and 30 timed warm pairs: the model's first 80 runs) runs 20% slow, the machine otherwise steady.
  const model = async () => busy(modelRuns++ < 80 ? 0.48 : 0.4);
  const reference = { networks: [{ runOnce: async () => busy(0.13), nominalMs: 0.13 }, { runOnce: async () => busy(0.63), nominalMs: 0.63 }] };
  const m = await measureAtFullSpeed(model, { reference, minRuns: 30, maxRuns: 30 });
  assert.ok(Math.abs(m.medianMs - 0.4) < 0.015, `middle part ${m.medianMs}`);
  assert.equal(modelRuns, 240);
});

test('ranks share ties; Spearman correlation by hand', () => {
  assert.deepEqual(ranks([10, 30, 20, 30]), [1, 3.5, 2, 3.5]);
  assert.equal(spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1);
  assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
  // d = [0, 0, 1, -1]: 1 - 6 * 2 / (4 * 15) = 0.8
  assert.ok(Math.abs(spearman([1, 2, 3, 4], [1, 2, 4, 3]) - 0.8) < 1e-12);
});

test('the quick effort times 30 runs after 10 settling ones, with no warm-up; careful warms first', async () => {
  let calls = 0;
  const quick = await measureWarmAndAlone(async () => void calls++, { effort: 'quick' });
  assert.equal(quick.runs, 30);
  assert.equal(calls, 40);
  calls = 0;
  const careful = await measureWarmAndAlone(async () => void calls++, { maxRuns: 30 });
  assert.equal(careful.runs, 30);
  assert.ok(calls > 1000, `careful warms up for at least 0.6 s first (${calls} calls)`);
  assert.ok(careful.quiet && quick.quiet, 'no gate in this thread: quiet');
});
