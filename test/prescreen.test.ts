import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { loadEmbeddedMnist } from '../src/datasets/mnist-embedded';
import { BUILTIN_TEACHER_SPEC } from '../src/model/teacher-arch';
import { InProcessExecutor } from '../src/runtime/in-process-executor';
import type { RunHooks, TrialExecutor } from '../src/runtime/executor';
import { runSearchLoop } from '../src/runtime/search-loop';
import type { SearchEvent } from '../src/runtime/search-loop';
import { shareData } from '../src/runtime/shared-data';
import type { SharedData, TrialTask } from '../src/runtime/task';
import { createController } from '../src/search/controllers';
import { accuracyPredictor, pickScreened } from '../src/search/prescreen';
import { candidateHash } from '../src/space/candidate';
import type { Candidate } from '../src/space/candidate';
import type { TrialRecord } from '../src/space/history';
import { parseSearchSpace } from '../src/space/load';
import { estimateSize, makeCandidate, sampleCommon, sampleTraining } from '../src/space/sample';
import { createRng } from '../src/core/rng';
import { Store } from '../src/store/store';
import { startServer } from '../src/web/server';
import { buildFrontReport, formatFrontReport } from '../src/commands/front-report';
import { spearman } from '../src/core/rank';
import { labelLogits, tempDir, tinyExperiment } from './support/helpers';

const ctx = { inputShape: [28, 28, 1], numClasses: 10, teacherSpec: BUILTIN_TEACHER_SPEC, teacherParams: 225034, teacherMacs: 1 };

const space = parseSearchSpace(
  `
name: screen
objectives: [accuracy, sizeBytes, latencyMs]
reference: { accuracy: 0.5, sizeBytes: 100000, latencyMs: 10 }
prescreen: { samples: 3, steps: 3 }
training: { epochs: 1 }
families: { mlp: { depth: 1, units: [8, 16, 256] } }
`,
  'screen.yaml',
);

function mlp(units: number): Candidate {
  const rng = createRng('mlp');
  return makeCandidate({ family: 'mlp', units: [units] }, sampleCommon(space, rng), sampleTraining(space, rng), ctx);
}

/** A COMPLETE trial, pre-screened at `score` when given, that ended at `accuracy`. */
function done(number: number, c: Candidate, accuracy: number, score?: number): TrialRecord {
  const { sizeBytes, params, macs } = estimateSize(c, ctx);
  return {
    number,
    hash: candidateHash(c),
    candidate: c,
    state: 'COMPLETE',
    metrics: { accuracy, floatAccuracy: accuracy, params, macs, sizeBytes, latencyMs: 0.1, latencyP10Ms: 0.1, latencyP90Ms: 0.1 },
    ...(score === undefined ? {} : { prescreen: { steps: 3, accuracy: score, kdLoss: 1, predictedAccuracy: score, scores: [{ hash: candidateHash(c), accuracy: score }], picked: 0, seconds: 1 } }),
  };
}

test('the score predicts final accuracy: as it is, then plus the median gap, then by a least-squares line once 5 pre-screened trials correlate', () => {
  assert.equal(accuracyPredictor([])(0.7), 0.7);
  const two = [done(0, mlp(8), 0.8, 0.5), done(1, mlp(16), 0.85, 0.6)];
  // gaps 0.3 and 0.25, their median 0.275: 0.5 -> 0.775; clamped at 1
  assert.ok(Math.abs(accuracyPredictor(two)(0.5) - 0.775) < 1e-12);
  assert.equal(accuracyPredictor(two)(0.9), 1);
  // final = 0.4 + 0.6 * score on five trials: the line, exactly
  const line = [0.1, 0.2, 0.3, 0.5, 0.6].map((s, i) => done(i, mlp(8), 0.4 + 0.6 * s, s));
  assert.ok(Math.abs(accuracyPredictor(line)(0.45) - 0.67) < 1e-12);
  // a score that does not correlate with the outcome is not extrapolated: the median gap
  const against = [0.1, 0.2, 0.3, 0.5, 0.6].map((s, i) => done(i, mlp(8), 0.9 - 0.1 * s, s));
  const gaps = [0.1, 0.2, 0.3, 0.5, 0.6].map((s) => 0.9 - 0.1 * s - s).sort((a, b) => a - b);
  assert.ok(Math.abs(accuracyPredictor(against)(0.4) - (0.4 + gaps[2])) < 1e-12);
});

test('the pick: the most hypervolume added by the predicted point, not the best score; latency left out until it can be predicted', () => {
  const small = mlp(8);
  const big = mlp(256); // over the sizeBytes reference: adds nothing whatever its accuracy
  const s = estimateSize(small, ctx).sizeBytes;
  assert.ok(estimateSize(big, ctx).sizeBytes > 100000 && s < 100000);
  const empty = pickScreened({ space, spaceContext: ctx, history: [], screened: [{ candidate: big, accuracy: 0.95 }, { candidate: small, accuracy: 0.8 }] });
  assert.equal(empty.index, 1);
  assert.deepEqual(empty.predictedAccuracy, [0.95, 0.8]);
  // no latency model yet: the hypervolume is over accuracy and sizeBytes, by hand
  assert.ok(Math.abs(empty.gain[1] - (0.8 - 0.5) * (100000 - s)) < 1e-6);
  assert.equal(empty.gain[0], 0);

  // a stored trial that dominates the small candidate's predicted point: the mid one, though it scores about the same, adds more
  const mid = mlp(16);
  const tiny = { ...done(0, mlp(8), 0.95), metrics: { ...done(0, mlp(8), 0.95).metrics!, sizeBytes: 1000 } };
  const pick = pickScreened({ space, spaceContext: ctx, history: [tiny], screened: [{ candidate: small, accuracy: 0.9 }, { candidate: mid, accuracy: 0.97 }] });
  assert.equal(pick.gain[0], 0);
  assert.ok(pick.gain[1] > 0);
  assert.equal(pick.index, 1);
  // nothing adds: the best non-dominated level decides, then the controller's order
  const none = pickScreened({ space, spaceContext: ctx, history: [tiny], screened: [{ candidate: small, accuracy: 0.5 }, { candidate: small, accuracy: 0.9 }] });
  assert.equal(none.index, 1);
  assert.throws(() => pickScreened({ space, spaceContext: ctx, history: [], screened: [] }), /at least one/);
});

let data: SharedData;
before(() => {
  const dataset = loadEmbeddedMnist({ dataDir: tempDir() });
  data = shareData(dataset, labelLogits(dataset));
});

/** The in-process executor, counting tasks by kind, and aborting the search at the `abortAt`-th pre-screen. */
class CountingExecutor implements TrialExecutor {
  readonly concurrency = 1;
  screens = 0;
  trials = 0;
  private inner = new InProcessExecutor();
  constructor(private opts: { abortAt?: number; abort?: AbortController } = {}) {}
  async run(task: TrialTask, hooks: RunHooks) {
    if (task.screen) {
      this.screens++;
      if (this.screens === this.opts.abortAt) this.opts.abort!.abort();
    } else this.trials++;
    return this.inner.run(task, hooks);
  }
  async close() {}
}

test('a pre-screened search: K proposals each distilled a few steps, the pick stored with every score and trained; killed mid-screen, nothing is stored and resume screens again', async () => {
  const store = Store.open(join(tempDir(), 'k.db'));
  const base = tinyExperiment(store, { name: 'screen', trials: 3 });
  const exp = { ...base, space: { ...base.space, prescreen: { samples: 3, steps: 3, evalSamples: 100 } } };
  const controller = createController('random');
  const loop = (executor: TrialExecutor, signal: AbortSignal, events: SearchEvent[] = []) =>
    runSearchLoop({ store, experiment: exp, controller, spaceContext: ctx, executor, data, teacher: { spec: BUILTIN_TEACHER_SPEC, topology: {} }, backend: 'wasm', trials: 3, signal, onEvent: (e) => events.push(e) });

  // killed during trial 0's second screen: no trial row exists
  const abort = new AbortController();
  const killed = new CountingExecutor({ abortAt: 2, abort });
  const first = await loop(killed, abort.signal);
  assert.equal(first.stopped, true);
  assert.equal(store.history(exp).length, 0, 'a trial whose candidates were being screened is not stored');

  const events: SearchEvent[] = [];
  const executor = new CountingExecutor();
  const result = await loop(executor, new AbortController().signal, events);
  assert.equal(result.stopped, false);
  const history = store.history(exp);
  assert.equal(history.length, 3, 'screens do not count toward --trials');
  assert.deepEqual(history.map((t) => t.state), ['COMPLETE', 'COMPLETE', 'COMPLETE']);
  assert.equal(executor.trials, 3);
  assert.equal(executor.screens, history.reduce((a, t) => a + t.prescreen!.scores.length, 0));
  assert.equal(events.filter((e) => e.type === 'screened').length, 3);

  for (const t of history) {
    const p = t.prescreen!;
    assert.equal(p.steps, 3);
    assert.equal(p.scores[p.picked].hash, t.hash, 'the stored candidate is the picked one');
    assert.equal(p.scores[p.picked].accuracy, p.accuracy);
    assert.ok(p.scores.every((s) => s.accuracy > 0 && s.accuracy <= 1), 'every proposal was scored');
    // on the first 100 held-out samples only: every score is a whole number of percent
    assert.ok(p.scores.every((s) => Math.abs(s.accuracy * 100 - Math.round(s.accuracy * 100)) < 1e-9), `scored on 100 samples: ${p.scores.map((s) => s.accuracy)}`);
    // the same proposals again (a pure controller, seeded by trial number and proposal), and the same pick from the same history
    const before = history.filter((h) => h.number < t.number);
    const proposals = [0, 1, 2].map((k) => controller.ask({ space: exp.space, spaceContext: ctx, history: before, rng: k === 0 ? createRng('ask', exp.seed, t.number) : createRng('ask', exp.seed, t.number, 'prescreen', k) })!);
    assert.deepEqual(proposals.map(candidateHash), p.scores.map((s) => s.hash));
    const pick = pickScreened({ space: exp.space, spaceContext: ctx, history: before, screened: proposals.map((candidate, k) => ({ candidate, accuracy: p.scores[k].accuracy })) });
    assert.equal(pick.index, p.picked);
    assert.equal(pick.predictedAccuracy[pick.index], p.predictedAccuracy);
  }

  // reported: the score's agreement with final accuracy in `front`, the experiment page, and each trial's proposals on its page
  const report = buildFrontReport(store.getExperiment('screen'), history);
  assert.equal(report.prescreen?.trials, 3);
  assert.equal(report.prescreen?.spearman, spearman(history.map((t) => t.prescreen!.accuracy), history.map((t) => t.metrics!.accuracy)));
  assert.match(formatFrontReport(report), /pre-screen: its score's Spearman correlation with final accuracy -?[\d.]+, over 3 students/);
  const server = await startServer({ db: store.path, port: 0, host: '127.0.0.1' }, () => {});
  try {
    const listing = await (await fetch(`${server.url}experiments/screen`)).text();
    assert.match(listing, /id="prescreen">pre-screen: its score(&#39;|')s Spearman correlation with final accuracy -?[\d.]+, over 3 students/);
    const t = history[1];
    const page = await (await fetch(`${server.url}experiments/screen/trials/${t.number}`)).text();
    assert.match(page, /<h2>Pre-screen<\/h2>/);
    assert.match(page, new RegExp(`<code>${t.hash}</code></td><td>[\\d.]+%</td><td>picked: this trial</td>`));
    assert.equal((page.match(/<tr><td>\d<\/td><td><code>/g) ?? []).length, t.prescreen!.scores.length);
  } finally {
    await server.close();
  }
  store.close();
});
