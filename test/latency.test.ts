import assert from 'node:assert/strict';
import { test } from 'node:test';
import { measureAdaptive, measureWarmAndAlone, medianInterval } from '../src/model/latency';
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

test('with a reference, each run is scaled by the reference run beside it: a machine switching speeds mid-measurement changes nothing', async () => {
  const busy = (ms: number) => {
    const start = performance.now();
    while (performance.now() - start < ms);
  };
  // The machine runs at full speed, then at half speed every other block of 15 runs: model 0.4 ms, reference 0.2 ms at full speed.
  let runs = 0;
  const slow = () => Math.floor(runs / 30) % 2 === 1;
  const reference = { runOnce: async () => busy(slow() ? 0.4 : 0.2), nominalMs: 0.1 };
  const model = async () => {
    busy(slow() ? 0.8 : 0.4);
    runs += 2;
  };
  const scaled = await measureAdaptive(model, { reference, minRuns: 120, maxRuns: 120 });
  // 2 x the reference's nominal 0.1 ms, whatever the speed.
  assert.ok(Math.abs(scaled.medianMs - 0.2) < 0.02, `scaled median ${scaled.medianMs}`);
  assert.ok(scaled.p90Ms - scaled.p10Ms < 0.05, `scaled spread ${scaled.p10Ms}..${scaled.p90Ms}`);
  assert.ok(scaled.referenceMs! > 0.19 && scaled.referenceMs! < 0.42, `the reference's raw median ${scaled.referenceMs}`);
  runs = 0;
  const raw = await measureAdaptive(model, { minRuns: 120, maxRuns: 120 });
  assert.ok(raw.p90Ms > 0.7 && raw.p10Ms < 0.5, `raw times show both speeds: ${raw.p10Ms}..${raw.p90Ms}`);
});

test('with a reference, each timed run follows an untimed run of the same network: a network slowed by running after the other (its caches refilled) does not bias the ratio', async () => {
  const busy = (ms: number) => {
    const start = performance.now();
    while (performance.now() - start < ms);
  };
  // After the other network each costs more: the reference 0.2 -> 0.3 ms, the model 0.4 -> 0.44 ms.
  let last = '';
  const run = (name: string, warm: number, cold: number) => async () => {
    busy(last === name ? warm : cold);
    last = name;
  };
  const scaled = await measureAdaptive(run('model', 0.4, 0.44), { reference: { runOnce: run('reference', 0.2, 0.3), nominalMs: 0.1 }, minRuns: 60, maxRuns: 60 });
  // 0.4 / 0.2 of the nominal 0.1 ms; timed after the other network it would be 0.44 / 0.3, about 0.147
  assert.ok(Math.abs(scaled.medianMs - 0.2) < 0.015, `scaled median ${scaled.medianMs}`);
  assert.ok(Math.abs(scaled.referenceMs! - 0.2) < 0.03, `the reference timed warm: ${scaled.referenceMs}`);
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
