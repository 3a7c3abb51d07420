import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { createRng } from '../src/core/rng';
import { createController } from '../src/search/controllers';
import { TRUST_MIN_STUDENTS, fitLatencyModel, latencyFeatures, latencyModelOf, predictLatency } from '../src/search/latency-model';
import { candidateHash } from '../src/space/candidate';
import type { Candidate } from '../src/space/candidate';
import type { TrialRecord } from '../src/space/history';
import { loadSearchSpace } from '../src/space/load';
import { sampleCandidate } from '../src/space/sample';
import type { SpaceContext } from '../src/space/sample';
import { BUILTIN_TEACHER_SPEC } from '../src/model/teacher-arch';
import { ROOT } from './support/helpers';

const ctx: SpaceContext = { inputShape: [28, 28, 1], numClasses: 10, teacherSpec: BUILTIN_TEACHER_SPEC, teacherParams: 225034, teacherMacs: 0 };
const { space } = loadSearchSpace(join(ROOT, 'search-spaces', 'mnist-quick.yaml'));

/** A machine whose latency is exactly linear in the features: 20 us a call, 5 a layer, then per million MACs and values. */
const TRUE_COST = [0.02, 0.005, 0.3, 0.5, 0.2, 0.05];
const trueLatency = (c: Candidate) => predictLatency({ coefficients: TRUE_COST }, latencyFeatures(c, ctx)!);

function history(n: number, latency: (c: Candidate, i: number) => number, seed = 1): TrialRecord[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => {
    const candidate = sampleCandidate(space, ctx, rng);
    const latencyMs = latency(candidate, i);
    return {
      number: i,
      hash: candidateHash(candidate),
      candidate,
      state: 'COMPLETE' as const,
      metrics: { accuracy: 0.9, floatAccuracy: 0.9, params: 1, macs: 1, sizeBytes: 1, latencyMs, latencyP10Ms: latencyMs, latencyP90Ms: latencyMs },
    };
  });
}

test('on latencies linear in its features the model is exact on held-out students, and trusted', () => {
  const model = latencyModelOf(history(30, trueLatency), ctx)!;
  assert.ok(model.trusted);
  assert.equal(model.n, 30);
  assert.ok(model.heldOut!.medianAbsPercentError < 1e-4, `held-out error ${model.heldOut!.medianAbsPercentError}`);
  assert.ok(model.heldOut!.spearman > 0.99);
  const fresh = sampleCandidate(space, ctx, createRng(99));
  assert.ok(Math.abs(predictLatency(model, latencyFeatures(fresh, ctx)!) / trueLatency(fresh) - 1) < 1e-4);
});

test('latencies unrelated to the features give a large held-out error: not trusted', () => {
  const noise = createRng(5);
  const model = latencyModelOf(history(30, () => 0.05 + noise.next()), ctx)!;
  assert.ok(model.heldOut!.medianAbsPercentError > 0.1, `held-out error ${model.heldOut!.medianAbsPercentError}`);
  assert.equal(model.trusted, false);
  // Too few students to judge: no held-out error, not trusted.
  const few = fitLatencyModel(history(TRUST_MIN_STUDENTS - 1, trueLatency).map((t) => ({ features: latencyFeatures(t.candidate, ctx)!, latencyMs: t.metrics!.latencyMs })));
  assert.equal(few?.trusted ?? false, false);
});

test('once the model is trusted, a maxLatencyMs violator is refused before it is trained; before that it is proposed', () => {
  const past = history(30, trueLatency);
  const max = [...past.map((t) => t.metrics!.latencyMs)].sort((a, b) => a - b)[15];
  const limited = { ...space, constraints: { ...space.constraints, maxLatencyMs: max } };
  const controller = createController('random');
  const proposals = (h: TrialRecord[]) => Array.from({ length: 40 }, (_, k) => controller.ask({ space: limited, spaceContext: ctx, history: h, rng: createRng(1000 + k) })!);
  const trusted = proposals(past);
  assert.ok(trusted.every((c) => trueLatency(c) <= max * (1 + 1e-3)), 'every proposal meets maxLatencyMs by the model');
  // Five measured students: the model is not trusted, and slow candidates still go to training (to be refused after measuring).
  const early = proposals(past.slice(0, 5));
  assert.ok(early.some((c) => trueLatency(c) > max), 'before the model is trusted, some proposals are slower than the limit');
});
