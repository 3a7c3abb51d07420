import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { errorCodeOf } from '../src/core/errors';
import { candidateHash, candidateKey } from '../src/space/candidate';
import { parseStudentSpec } from '../src/space/student';
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
    const mixed = crossover(space, ctx, parent, other, rng);
    for (const k of Object.keys(mixed.training) as Array<keyof typeof mixed.training>) {
      assert.ok(mixed.training[k] === parent.training[k] || mixed.training[k] === other.training[k]);
    }
  }
});

test('batch norm, average pooling and a global-average-pooling head are searched choices of the conv families', () => {
  const space = parseSearchSpace(
    [
      'name: styles',
      'reference: { accuracy: 0.9, sizeBytes: 1000000, latencyMs: 5 }',
      'training: { epochs: 2 }',
      'families:',
      '  cnn: { depth: [1, 2], filters: [4, 8], kernel: 3, dense: [0, 16], norm: [false, true], pool: [max, avg], head: [flatten, gap] }',
    ].join('\n'),
    't',
  );
  const rng = createRng(4);
  const seen = new Set<string>();
  for (let i = 0; i < 80; i++) {
    const c = sampleCandidate(space, ctx, rng);
    assert.equal(c.genes.family, 'cnn');
    if (c.genes.family !== 'cnn' || c.student.kind !== 'cnn') continue;
    const { genes, student } = c;
    seen.add(`${genes.norm ?? false} ${genes.pool ?? 'max'} ${genes.head ?? 'flatten'}`);
    // The genes are in the student: every block, the head, and the hidden dense layer when there is one.
    assert.ok(student.blocks.every((b) => (b.norm ?? false) === (genes.norm ?? false) && (b.pool === 'avg') === (genes.pool === 'avg')), JSON.stringify(c));
    assert.equal(student.head ?? 'flatten', genes.head ?? 'flatten');
    assert.equal(student.denseNorm ?? false, Boolean(genes.norm) && genes.dense > 0);
    // Defaults stay out of the genes and the spec, so students of older spaces keep their hashes.
    for (const key of ['norm', 'pool', 'head'] as const) assert.notEqual(genes[key], { norm: false, pool: 'max', head: 'flatten' }[key]);
    const child = mutate(space, ctx, c, rng);
    assert.notEqual(candidateHash(child), candidateHash(c));
  }
  assert.equal(seen.size, 8, `every combination sampled: ${[...seen].join(', ')}`);
  // A space without these choices samples students without these keys.
  const plain = sampleCandidate(parseSearchSpace(VALID, 't'), ctx, createRng(1));
  assert.ok(!/"(norm|head|denseNorm)"/.test(candidateKey(plain)) && !/"pool":"avg"/.test(candidateKey(plain)), candidateKey(plain));
});

test('every example student is a valid spec', () => {
  const dir = join(ROOT, 'examples', 'students');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  assert.ok(files.includes('batchnorm-cnn.json'));
  for (const f of files) parseStudentSpec(JSON.parse(readFileSync(join(dir, f), 'utf8')), f);
});
