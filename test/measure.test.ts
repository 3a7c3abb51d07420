import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../src/model/build';
import { inspectModel } from '../src/model/inspect';
import { measureSpec, storedBytes } from '../src/space/measure';
import { BUILTIN_TEACHER_SPEC } from '../src/model/teacher-arch';
import { parseStudentSpec } from '../src/space/student';
import type { ConcreteSpec } from '../src/space/student';
import { errorCodeOf } from '../src/core/errors';
import { useWasm } from './support/helpers';

before(useWasm);

const specs: ConcreteSpec[] = [
  BUILTIN_TEACHER_SPEC,
  parseStudentSpec({ kind: 'mlp', hidden: [128, 32] }, 'test') as ConcreteSpec,
  parseStudentSpec({ kind: 'mlp' }, 'test') as ConcreteSpec,
  parseStudentSpec({ kind: 'cnn', blocks: [{ filters: 8, kernel: 5 }, { op: 'sepconv', filters: 16, kernel: 3, padding: 'valid' }], dense: [20] }, 'test') as ConcreteSpec,
  parseStudentSpec({ kind: 'cnn', blocks: [{ op: 'sepconv', filters: 4, kernel: 3, pool: false }] }, 'test') as ConcreteSpec,
  parseStudentSpec(
    { kind: 'cnn', blocks: [{ filters: 8, kernel: 3, norm: true, pool: 'avg' }, { op: 'sepconv', filters: 12, kernel: 3, norm: true }], head: 'gap', dense: [16], denseNorm: true },
    'test',
  ) as ConcreteSpec,
  parseStudentSpec({ kind: 'mlp', hidden: [24, 12], denseNorm: true, dropout: 0.2 }, 'test') as ConcreteSpec,
];

test('params and MACs from the spec equal the built model\'s', () => {
  for (const spec of specs) {
    const fromSpec = measureSpec(spec, [28, 28, 1], 10);
    const model = buildModel(spec, { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
    const built = inspectModel(model);
    assert.equal(fromSpec.params, model.countParams(), JSON.stringify(spec));
    assert.equal(fromSpec.macs, built.macs, JSON.stringify(spec));
    assert.equal(fromSpec.weightTensors.length, model.getWeights().length);
    fromSpec.weightTensors.forEach((t, i) => assert.equal(t.size, model.getWeights()[i].size));
    model.dispose();
  }
});

test('the built-in teacher has 225,034 parameters, counted by hand', () => {
  // conv 3*3*1*32+32 = 320; conv 3*3*32*64+64 = 18,496; dense 5*5*64*128+128 = 204,928; dense 128*10+10 = 1,290
  assert.equal(measureSpec(BUILTIN_TEACHER_SPEC, [28, 28, 1], 10).params, 320 + 18496 + 204928 + 1290);
});

test('MACs of a small CNN, counted by hand', () => {
  const spec = parseStudentSpec({ kind: 'cnn', blocks: [{ filters: 4, kernel: 3 }] }, 'test') as ConcreteSpec;
  // conv same 28x28x4 from 1 channel, 3x3: 28*28*9*4 = 28,224; dense 14*14*4 -> 10: 7,840
  assert.equal(measureSpec(spec, [28, 28, 1], 10).macs, 28224 + 7840);
});

test('batch norm, average pooling and global average pooling, counted by hand', () => {
  const spec = parseStudentSpec({ kind: 'cnn', blocks: [{ filters: 4, kernel: 3, norm: true, pool: 'avg' }], head: 'gap', dense: [6], denseNorm: true }, 'test') as ConcreteSpec;
  const m = measureSpec(spec, [8, 8, 1], 3);
  // conv 3*3*1*4 (no bias) = 36; its norm 4*4 = 16; dense 4*6 (no bias) = 24; its norm 4*6 = 24; classifier 6*3+3 = 21
  assert.equal(m.params, 36 + 16 + 24 + 24 + 21);
  // conv 8*8*9*4 = 2,304; norm 8*8*4 = 256; the pools 0; dense 24; norm 6; classifier 18
  assert.equal(m.macs, 2304 + 256 + 24 + 6 + 18);
  assert.deepEqual(
    m.layers.map((l) => l.type),
    ['conv2d', 'batch_normalization', 'activation', 'average_pooling2d', 'global_average_pooling2d', 'dense', 'batch_normalization', 'activation', 'dense'],
  );
  // The norms' vectors stay float32 at int8: 36 + 24 + 21 weights at 1 byte in 4 tensors (4 scales); 16 + 24 at 4 bytes.
  assert.equal(storedBytes(m.weightTensors, 'int8', 'per-tensor'), 36 + 24 + 21 + 4 * 4 + (16 + 24) * 4);
});

test('sizeBytes counts every weight at its precision plus a float32 scale per int8 group', () => {
  const tensors = [
    { size: 90, channels: 10 },
    { size: 10, channels: 10 },
  ];
  assert.equal(storedBytes(tensors, 'float32', 'per-tensor'), 400);
  assert.equal(storedBytes(tensors, 'float16', 'per-tensor'), 200);
  assert.equal(storedBytes(tensors, 'int8', 'per-tensor'), 100 + 2 * 4);
  assert.equal(storedBytes(tensors, 'int8', 'per-channel'), 100 + 20 * 4);
});

test('a spec that does not fit the input is refused before building', () => {
  const spec = parseStudentSpec({ kind: 'cnn', blocks: Array.from({ length: 6 }, () => ({ filters: 4, kernel: 3 })) }, 'test') as ConcreteSpec;
  assert.throws(() => measureSpec(spec, [28, 28, 1], 10), (e) => errorCodeOf(e) === 'SPEC_INVALID' && /blocks\.4: 2x2 pooling/.test((e as Error).message));
  // building refuses it too (tfjs would build an empty layer and train it on garbage)
  assert.throws(() => buildModel(spec, { inputShape: [28, 28, 1], numClasses: 10, seed: 1 }), (e) => errorCodeOf(e) === 'SPEC_INVALID' && /blocks\.4/.test((e as Error).message));
  assert.throws(() => measureSpec(specs[3], [784], 10), (e) => errorCodeOf(e) === 'TEACHER_MISMATCH');
  assert.equal(tf.memory().numTensors >= 0, true);
});

test('bad student specs name the field and what was expected', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ kind: 'transformer' }, /kind/],
    [{ kind: 'mlp', hidden: [0] }, /hidden\.0/],
    [{ kind: 'cnn', blocks: [] }, /blocks/],
    [{ kind: 'cnn', blocks: [{ filters: 8, kernel: 3, op: 'dilated' }] }, /blocks\.0\.op/],
    [{ kind: 'mlp', precision: 'int4' }, /precision/],
    [{ kind: 'mlp', hiden: [3] }, /hiden/],
  ];
  for (const [value, field] of cases) {
    assert.throws(
      () => parseStudentSpec(value, 'spec.json'),
      (e) => errorCodeOf(e) === 'SPEC_INVALID' && /spec\.json/.test((e as Error).message) && field.test((e as Error).message),
      JSON.stringify(value),
    );
  }
});
