import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { errorCodeOf } from '../src/core/errors';
import { candidateHash, candidateKey } from '../src/space/candidate';
import { loadSearchSpace, parseSearchSpace } from '../src/space/load';
import { crossover, mutate } from '../src/space/mutate';
import { estimateSize, sampleCandidate, violation } from '../src/space/sample';
import type { SpaceContext } from '../src/space/sample';
import { BUILTIN_TEACHER_SPEC } from '../src/model/teacher-arch';
import { searchSpaceJsonSchema } from '../src/space/json-schema';
import { createRng } from '../src/core/rng';
import { ROOT, tempDir } from './support/helpers';

const ctx: SpaceContext = { inputShape: [28, 28, 1], numClasses: 10, teacherSpec: BUILTIN_TEACHER_SPEC, teacherParams: 225034, teacherMacs: 0 };

test('the shipped spaces are valid', () => {
  const dir = join(ROOT, 'search-spaces');
  const files = readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f));
  assert.ok(files.includes('mnist-quick.yaml') && files.includes('mnist-full.yaml'));
  for (const f of files) loadSearchSpace(join(dir, f));
});

const VALID = `
name: t
reference: { accuracy: 0.9, sizeBytes: 100000, latencyMs: 2 }
training: { epochs: 2 }
families:
  mlp: { depth: 1, units: [8, 16] }
`;

// Each broken file, and what the message must name.
const BROKEN: Array<[string, string, RegExp[]]> = [
  ['yaml syntax', 'name: t\nfamilies: [mlp\n', [/line \d+/, /not valid YAML/]],
  ['not a mapping', '- 1\n- 2\n', [/expected a mapping/]],
  ['missing name', VALID.replace('name: t\n', ''), [/name/]],
  ['unknown top-level field', `${VALID}\nepochz: 3\n`, [/epochz/]],
  ['negative epochs', VALID.replace('epochs: 2', 'epochs: -2'), [/training\.epochs/]],
  ['empty epoch list', VALID.replace('epochs: 2', 'epochs: []'), [/training\.epochs/, /at least one/]],
  ['unknown objective', `${VALID}\nobjectives: [accuracy, fun]\n`, [/objectives\.1/]],
  ['reference missing an objective', VALID.replace('latencyMs: 2 ', ''), [/reference\.latencyMs/]],
  ['no family', VALID.replace(/families:[\s\S]*/, 'families: {}\n'), [/families/, /at least one/]],
  ['unknown family', `${VALID}  transformer: {}\n`, [/families/, /transformer/]],
  ['bad precision', `${VALID}\nprecision: [float32, int4]\n`, [/precision/]],
  ['alpha out of range', `${VALID}\ndistillation: { alpha: 1.5 }\n`, [/distillation\.alpha/]],
  ['kernel not an integer', VALID.replace('mlp: { depth: 1, units: [8, 16] }', 'cnn: { depth: 1, filters: 8, kernel: 2.5 }'), [/families\.cnn\.kernel/]],
  ['teacher-copy width above 1', VALID.replace('mlp: { depth: 1, units: [8, 16] }', "'teacher-copy': { depth: 1, width: 2 }"), [/width/]],
  ['negative constraint', `${VALID}\nconstraints: { maxParams: -5 }\n`, [/constraints\.maxParams/]],
];

for (const [what, text, expected] of BROKEN) {
  test(`a broken space file is refused: ${what}`, () => {
    const file = join(tempDir(), 'broken.yaml');
    writeFileSync(file, text);
    assert.throws(
      () => loadSearchSpace(file),
      (e) => {
        const msg = (e as Error).message;
        assert.equal(errorCodeOf(e), 'SPACE_INVALID');
        assert.ok(msg.includes(file), `names the file: ${msg}`);
        for (const r of expected) assert.match(msg, r);
        return true;
      },
    );
  });
}

test('field errors carry the line of the field in the file', () => {
  assert.throws(
    () => parseSearchSpace(VALID.replace('epochs: 2', 'epochs: -2'), 's.yaml'),
    (e) => /training\.epochs \(line 4\)/.test((e as Error).message),
  );
});

test('a missing file is named', () => {
  assert.throws(() => loadSearchSpace('/nope/space.yaml'), (e) => errorCodeOf(e) === 'SPACE_INVALID' && /\/nope\/space\.yaml/.test((e as Error).message));
});

test('JSON Schema is emitted for editors', () => {
  const schema = searchSpaceJsonSchema() as { properties: Record<string, unknown> };
  for (const key of ['name', 'objectives', 'reference', 'training', 'families', 'precision']) assert.ok(key in schema.properties, key);
});

test('canonical encoding and hash do not depend on key order', () => {
  const space = parseSearchSpace(VALID, 't');
  const c = sampleCandidate(space, ctx, createRng(1));
  const reordered = JSON.parse(JSON.stringify({ training: c.training, student: c.student, genes: c.genes }));
  assert.equal(candidateKey(c), candidateKey(reordered));
  assert.equal(candidateHash(c), candidateHash(reordered));
  assert.notEqual(candidateHash(c), candidateHash({ ...c, training: { ...c.training, alpha: 0.123 } }));
});

test('size constraints reject a candidate before training', () => {
  const space = parseSearchSpace(`${VALID}\nconstraints: { maxParams: 10000 }\n`, 't');
  const rng = createRng(2);
  let rejected = 0;
  for (let i = 0; i < 50; i++) {
    const c = sampleCandidate(space, ctx, rng);
    const size = estimateSize(c, ctx);
    // mlp 784-8-10 has 6,370 params; 784-16-10 has 12,730.
    assert.equal(violation(space, c, ctx) !== undefined, size.params > 10000);
    if (size.params > 10000) rejected++;
  }
  assert.ok(rejected > 0);
});

test('mutation changes exactly one thing; crossover mixes parents', () => {
  const space = loadSearchSpace(join(ROOT, 'search-spaces', 'mnist-full.yaml')).space;
  const rng = createRng(3);
  for (let i = 0; i < 100; i++) {
    const parent = sampleCandidate(space, ctx, rng);
    const child = mutate(space, ctx, parent, rng);
    assert.notEqual(candidateHash(child), candidateHash(parent), 'a mutation changes the candidate');
    const other = sampleCandidate(space, ctx, rng);
    const mixed = crossover(ctx, parent, other, rng);
    for (const k of Object.keys(mixed.training) as Array<keyof typeof mixed.training>) {
      assert.ok(mixed.training[k] === parent.training[k] || mixed.training[k] === other.training[k]);
    }
  }
});
