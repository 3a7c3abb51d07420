import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { BUILTIN_TEACHER_SPEC } from '../src/model/teacher-arch';
import { CONTROLLER_NAMES, createController } from '../src/search/controllers';
import { simulateSearch } from '../src/search/simulate';
import { loadSearchSpace } from '../src/space/load';
import { violation } from '../src/space/sample';
import type { SpaceContext } from '../src/space/sample';
import { ROOT } from './support/helpers';
import { candidateHash } from '../src/space/candidate';
import { createRng } from '../src/core/rng';

const ctx: SpaceContext = { inputShape: [28, 28, 1], numClasses: 10, teacherSpec: BUILTIN_TEACHER_SPEC, teacherParams: 225034, teacherMacs: 0 };
const full = loadSearchSpace(join(ROOT, 'search-spaces', 'mnist-full.yaml')).space;
const quick = loadSearchSpace(join(ROOT, 'search-spaces', 'mnist-quick.yaml')).space;

for (const name of CONTROLLER_NAMES) {
  test(`${name}: the same space, controller and seed give the same candidate sequence`, () => {
    const run = (seed: number) => simulateSearch({ space: full, ctx, controller: createController(name), seed, trials: 30 }).history.map((t) => t.hash);
    const a = run(7);
    assert.equal(a.length, 30);
    assert.deepEqual(run(7), a);
    assert.notDeepEqual(run(8), a, 'another seed, another sequence');
  });

  test(`${name}: never proposes the same candidate twice, nor one that breaks a size constraint`, () => {
    const { history } = simulateSearch({ space: full, ctx, controller: createController(name), seed: 1, trials: 60 });
    assert.equal(new Set(history.map((t) => t.hash)).size, history.length);
    for (const t of history) assert.equal(violation(full, t.candidate, ctx), undefined);
  });
}

test('a controller asked with a stored history continues the uninterrupted sequence', () => {
  // Rule 1: no controller state; the history and (seed, trial number) alone decide the next candidate.
  for (const name of CONTROLLER_NAMES) {
    const controller = createController(name);
    const whole = simulateSearch({ space: full, ctx, controller, seed: 3, trials: 25 }).history;
    for (const k of [5, 12, 20]) {
      const next = createController(name).ask({ space: full, spaceContext: ctx, history: whole.slice(0, k), rng: createRng('ask', 3, k) });
      assert.equal(candidateHash(next!), whole[k].hash, `${name} at trial ${k}`);
    }
  }
});

test('a small space is exhausted, not looped over forever', () => {
  const tiny = { ...quick, families: { mlp: { depth: 1, units: [16] } }, distillation: { temperature: 4, alpha: 0.5 }, precision: 'float32' as const, scheme: 'offline' as const };
  const { history } = simulateSearch({ space: tiny, ctx, controller: createController('random'), seed: 0, trials: 10 });
  assert.equal(history.length, 1);
});

test('evolution and NSGA-II improve on their initial random population', () => {
  for (const name of ['evolution', 'nsga2'] as const) {
    const { hypervolumes } = simulateSearch({ space: full, ctx, controller: createController(name), seed: 5, trials: 60 });
    assert.ok(hypervolumes[59] > hypervolumes[9], `${name}: ${hypervolumes[9]} -> ${hypervolumes[59]}`);
  }
});
