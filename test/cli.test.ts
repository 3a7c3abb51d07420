import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { buildModel } from '../src/model/build';
import { fileSaver } from '../src/model/file-io';
import { parseStudentSpec } from '../src/space/student';
import type { ConcreteSpec } from '../src/space/student';
import { CLI, ROOT, tempDir, useWasm } from './support/helpers';

let dataDir: string;
let teacherPath: string;
let flatTeacherPath: string;

function kdsearch(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const tinyRun = ['--epochs', '1', '--train-limit', '256', '--backend', 'wasm'];

before(async () => {
  await useWasm();
  dataDir = tempDir();
  // Small stand-in teachers saved as TF.js layers models, the way a user brings one.
  const dir = tempDir();
  const cnn = buildModel(parseStudentSpec({ kind: 'cnn', blocks: [{ filters: 4, kernel: 3 }] }, 't') as ConcreteSpec, {
    inputShape: [28, 28, 1],
    numClasses: 10,
    seed: 1,
  });
  await cnn.save(fileSaver(join(dir, 'cnn')));
  teacherPath = join(dir, 'cnn', 'model.json');
  const flat = buildModel(parseStudentSpec({ kind: 'mlp', hidden: [8] }, 't') as ConcreteSpec, { inputShape: [784], numClasses: 10, seed: 1 });
  await flat.save(fileSaver(join(dir, 'flat')));
  flatTeacherPath = join(dir, 'flat', 'model.json');
});

test('distill --json prints exactly one JSON object with the documented fields', () => {
  // The stand-in teacher is untrained, so learn from the labels (alpha 0) to check that training works.
  const r = kdsearch(['distill', '--student', 'examples/students/small-cnn.json', '--teacher', teacherPath, '--data-dir', dataDir, '--json', '--alpha', '0', '--epochs', '2', '--train-limit', '1200', '--backend', 'wasm']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `stdout: ${r.stdout}`);
  const out = JSON.parse(lines[0]);
  for (const field of ['backend', 'accuracy', 'params', 'macs', 'sizeBytes', 'latencyMs', 'epochs', 'seconds', 'teacherAccuracy', 'teacherParams']) {
    assert.ok(field in out, `field ${field}`);
  }
  assert.equal(out.backend, 'wasm');
  assert.equal(out.epochs, 2);
  assert.equal(out.params, 16938);
  assert.ok(out.accuracy > 0.7, `accuracy after two epochs on 1200 digits: ${out.accuracy}`);
  assert.match(r.stderr, /teacher logits: computed/);
});

test('a second run reuses the cached teacher logits and says so', () => {
  const args = ['distill', '--student', '{"kind":"mlp","hidden":[16]}', '--teacher', teacherPath, '--data-dir', dataDir, '--json', ...tinyRun];
  kdsearch(args);
  const r = kdsearch(args);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /teacher logits: reusing the cache/);
});

test('a bad student spec names the field and exits non-zero', () => {
  const r = kdsearch(['distill', '--student', '{"kind":"cnn","blocks":[{"filters":-3,"kernel":3}]}', '--data-dir', dataDir, ...tinyRun]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /SPEC_INVALID/);
  assert.match(r.stderr, /blocks\.0\.filters/);
  assert.equal(r.stdout, '');
  const file = join(tempDir(), 'broken.json');
  writeFileSync(file, '{"kind": "mlp", ');
  const r2 = kdsearch(['distill', '--student', file, '--data-dir', dataDir]);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /broken\.json: not valid JSON/);
});

test('a teacher that does not fit the dataset is refused with both shapes', () => {
  const r = kdsearch(['distill', '--student', '{"kind":"mlp"}', '--teacher', flatTeacherPath, '--data-dir', dataDir, ...tinyRun]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /TEACHER_MISMATCH/);
  assert.match(r.stderr, /\[784\]/);
  assert.match(r.stderr, /\[28, 28, 1\]/);
  const missing = kdsearch(['distill', '--student', '{"kind":"mlp"}', '--teacher', '/nonexistent/model.json', '--data-dir', dataDir]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /TEACHER_INVALID.*\/nonexistent\/model\.json/);
});

test('a malformed dataset names the file and exits non-zero', () => {
  const dir = tempDir();
  for (const name of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
    writeFileSync(join(dir, name), Buffer.from([0, 0, 8, 9, 0, 0, 0, 1]));
  }
  const r = kdsearch(['distill', '--student', '{"kind":"mlp"}', '--dataset', `idx:${dir}`, '--data-dir', dataDir]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /DATASET_MALFORMED/);
  assert.match(r.stderr, /train-images-idx3-ubyte/);
});

test('bad flags are refused with what was expected', () => {
  const r = kdsearch(['distill', '--student', '{"kind":"mlp"}', '--alpha', '1.5']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--alpha/);
  assert.match(r.stderr, /from 0 to 1/);
  const b = kdsearch(['distill', '--student', '{"kind":"mlp"}', '--backend', 'gpu']);
  assert.equal(b.code, 2);
  assert.equal(kdsearch(['distill']).code, 2, 'missing --student');
  assert.equal(kdsearch(['--help']).code, 0);
  assert.match(b.stderr, /Allowed choices are auto, node, wasm, cpu/);
  const n = kdsearch(['distill', '--student', '{"kind":"mlp"}', '--backend', 'node', '--data-dir', dataDir]);
  if (n.code !== 0) assert.match(n.stderr, /BACKEND_UNAVAILABLE.*tfjs-node/s);
});

test('the database follows --data-dir unless --db names one', () => {
  const dir = join(tempDir(), 'elsewhere');
  const r = kdsearch(['front', 'nope', '--data-dir', dir]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`EXPERIMENT_NOT_FOUND.*${join(dir, 'kdsearch.db').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
  const named = kdsearch(['front', 'nope', '--data-dir', dir, '--db', join(dir, 'other.db')]);
  assert.match(named.stderr, /other\.db/);
});
