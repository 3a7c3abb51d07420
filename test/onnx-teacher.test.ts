import assert from 'node:assert/strict';
import type { ConcreteSpec } from '../src/space/student';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { errorCodeOf } from '../src/core/errors';
import { OnnxTeacherModel } from '../src/model/onnx-teacher';
import { measureSpec } from '../src/space/measure';
import { CLI, ROOT, searchSpaceLines, standInSpace, tempDir } from './support/helpers';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'teachers');

/** A fixture teacher and what PyTorch computed for its inputs (make_onnx_teachers.py). */
function fixture(name: string) {
  const expected = JSON.parse(readFileSync(join(FIXTURES, `${name}.expected.json`), 'utf8')) as { inputShape: number[]; classes: number; x: number[]; y: number[] };
  return { file: join(FIXTURES, `${name}.onnx`), ...expected, n: expected.y.length / expected.classes };
}

for (const name of ['cnn-grey', 'cnn-rgb', 'cnn-bn-gap']) {
  test(`an ONNX teacher exported by PyTorch (${name}, NCHW) gives PyTorch's logits for kdsearch's NHWC data`, async () => {
    const f = fixture(name);
    const model = await OnnxTeacherModel.open(f.file, { inputShape: f.inputShape, numClasses: f.classes, datasetSource: 'test' });
    try {
      const logits = await model.logits(Float32Array.from(f.x), f.n);
      let worst = 0;
      for (let i = 0; i < logits.length; i++) worst = Math.max(worst, Math.abs(logits[i] - f.y[i]));
      assert.ok(worst < 1e-4, `max abs difference ${worst}`);
      assert.ok(model.params > 0);
      assert.ok(model.opTypes.includes('Conv'));
      const latency = await model.latency({ minRuns: 5, maxRuns: 10 });
      assert.ok(latency.medianMs > 0 && latency.p10Ms <= latency.p90Ms && latency.ciLowMs <= latency.medianMs && latency.medianMs <= latency.ciHighMs);
      assert.ok(latency.runs >= 5 && latency.runs <= 10 && latency.quiet);
    } finally {
      await model.dispose();
    }
  });
}

test('an ONNX teacher with a softmax output gives log-probabilities as its logits', async () => {
  const f = fixture('mlp-softmax');
  const model = await OnnxTeacherModel.open(f.file, { inputShape: f.inputShape, numClasses: 10, datasetSource: 'test' });
  try {
    const logits = await model.logits(Float32Array.from(f.x), f.n);
    for (let i = 0; i < logits.length; i++) assert.ok(Math.abs(logits[i] - Math.log(f.y[i])) < 1e-4, `${logits[i]} vs log(${f.y[i]})`);
  } finally {
    await model.dispose();
  }
});

test('an ONNX teacher that does not fit the data, or is not ONNX, is refused naming the file and both shapes', async () => {
  const f = fixture('cnn-rgb');
  await assert.rejects(OnnxTeacherModel.open(f.file, { inputShape: [28, 28, 1], numClasses: 2, datasetSource: 'mnist' }), (err) => {
    assert.equal(errorCodeOf(err), 'TEACHER_MISMATCH');
    assert.match((err as Error).message, /cnn-rgb\.onnx: the teacher's input input has shape \[batch, 3, 12, 12\] but dataset mnist provides \[28, 28, 1\]/);
    return true;
  });
  await assert.rejects(OnnxTeacherModel.open(f.file, { inputShape: [12, 12, 3], numClasses: 10, datasetSource: 'shapes' }), /outputs 2 classes .* but dataset shapes has 10/);
  const junk = join(tempDir(), 'junk.onnx');
  writeFileSync(junk, 'this is not a protobuf');
  await assert.rejects(OnnxTeacherModel.open(junk, { inputShape: [28, 28, 1], numClasses: 10, datasetSource: 'mnist' }), (err) => errorCodeOf(err) === 'TEACHER_INVALID' && /junk\.onnx/.test((err as Error).message));
});

test("an ONNX teacher's layers read as a spec (born-again, teacher-copy, online), or the first node that does not map is named", async () => {
  const architecture = async (name: string, inputShape = [28, 28, 1], classes = 10) => {
    const model = await OnnxTeacherModel.open(fixture(name).file, { inputShape, numClasses: classes, datasetSource: 'test' });
    await model.dispose();
    return model;
  };
  const grey = await architecture('cnn-grey');
  assert.deepEqual(grey.architecture, { spec: { kind: 'cnn', blocks: [{ op: 'conv', filters: 8, kernel: 3, padding: 'valid', pool: true }], dense: [], dropout: 0, precision: 'float32', quantization: 'per-tensor', qat: false } });
  const separable = await architecture('cnn-separable');
  assert.ok('spec' in separable.architecture);
  const spec = separable.architecture.spec;
  assert.equal(spec.kind, 'cnn');
  if (spec.kind === 'cnn') {
    assert.deepEqual(spec.blocks.map((b) => [b.op, b.filters, b.kernel, b.padding, b.pool]), [['conv', 8, 3, 'same', true], ['sepconv', 16, 3, 'same', true]]);
    assert.deepEqual(spec.dense, [32]);
  }
  // The spec rebuilds the teacher's own shape: the same parameter count as the graph's initializers.
  for (const m of [grey, separable, await architecture('mlp-matmul')]) {
    assert.ok('spec' in m.architecture);
    assert.equal(measureSpec(m.architecture.spec, [28, 28, 1], 10).params, m.params);
  }
  // Batch norm, average pooling, global average pooling. The graph's Gemm before a batch norm keeps
  // a bias that the student leaves out (the norm's beta is one), so its count is that much lower.
  const common = { dropout: 0, precision: 'float32', quantization: 'per-tensor', qat: false } as const;
  const specOf = (m: { architecture: object }) => (m.architecture as { spec: ConcreteSpec }).spec;
  const bn = await architecture('mlp-batchnorm');
  assert.deepEqual<object>(bn.architecture, { spec: { kind: 'mlp', hidden: [32], denseNorm: true, ...common } });
  assert.equal(measureSpec(specOf(bn), [28, 28, 1], 10).params, bn.params - 32);
  const gap = await architecture('cnn-bn-gap');
  assert.deepEqual<object>(gap.architecture, {
    spec: {
      kind: 'cnn',
      blocks: [
        { op: 'conv', filters: 8, kernel: 3, padding: 'same', pool: 'avg' },
        { op: 'sepconv', filters: 16, kernel: 3, padding: 'same', pool: true },
      ],
      head: 'gap',
      dense: [32],
      denseNorm: true,
      ...common,
    },
  });
  assert.equal(measureSpec(specOf(gap), [28, 28, 1], 10).params, gap.params - 32);
  const leaky = await architecture('cnn-leaky');
  assert.ok('unmappable' in leaky.architecture && /the LeakyRelu node .*: LeakyRelu after a convolution, where kdsearch's blocks have a Relu/.test(leaky.architecture.unmappable), JSON.stringify(leaky.architecture));
});

test('a space with an ONNX teacher (average pooling, global average pooling, batch norm) searches teacher-copies, born-again students and online distillation from its layers', () => {
  const { result: r } = searchSpaceLines(tempDir(), {
    name: 'onnx-derived',
    trials: 4,
    lines: [
      'name: onnx-derived',
      `teacher: ${fixture('cnn-bn-gap').file}`,
      'reference: { accuracy: 0.1, sizeBytes: 1000000, latencyMs: 10 }',
      'training: { epochs: 1, trainLimit: 300 }',
      'scheme: [offline, online]',
      'precision: [float32, int8]',
      'families:',
      '  teacher-copy: { depth: [0.5, 1], width: [0.25, 0.5] }',
      '  born-again: {}',
    ],
  });
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { trials: Array<{ state: string; family: string }> };
  assert.equal(report.trials.length, 4);
  assert.ok(report.trials.every((t) => t.state === 'COMPLETE'), r.stderr);
});

test('distill --teacher model.onnx: the ONNX teacher is measured, its logits cached, a student distilled from it', () => {
  const dataDir = tempDir();
  const run = () =>
    spawnSync(process.execPath, [CLI, 'distill', '--teacher', fixture('cnn-grey').file, '--student', 'examples/students/mlp.json', '--epochs', '1', '--train-limit', '500', '--data-dir', dataDir, '--json'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });
  const r = run();
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.match(report.teacherSource, /cnn-grey\.onnx$/);
  assert.ok(report.teacherAccuracy >= 0 && report.teacherAccuracy <= 1);
  assert.equal(report.teacherParams, 8 * 9 + 8 + 1352 * 10 + 10);
  assert.match(r.stderr, /teacher logits: computed by onnxruntime/);
  const again = run();
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /teacher logits: reusing the cache/);
  const born = spawnSync(process.execPath, [CLI, 'distill', '--teacher', fixture('cnn-leaky').file, '--student', 'examples/students/born-again.json', '--epochs', '1', '--data-dir', dataDir], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(born.status, 1);
  assert.match(born.stderr, /TEACHER_MISMATCH\]: the teacher's architecture cannot be copied: the LeakyRelu node .*: LeakyRelu after a convolution, where kdsearch's blocks have a Relu/);
});

test('a space whose teacher is an .onnx file searches and shows its front; the teacher is timed in onnxruntime and says so', () => {
  const dir = tempDir();
  const { result: r, db, dataDir } = searchSpaceLines(dir, {
    name: 'onnx',
    trials: 3,
    lines: [
      'name: onnx-teacher',
      `teacher: ${fixture('cnn-grey').file}`,
      'reference: { accuracy: 0.1, sizeBytes: 100000, latencyMs: 10 }',
      'training: { epochs: 1, trainLimit: 400 }',
      'families:',
      '  cnn: { depth: 1, filters: [4, 8, 16], kernel: 3 }',
      '  separable: { depth: 2, filters: 8, kernel: 3 }',
    ],
  });
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.match(report.teacher.source, /cnn-grey\.onnx$/);
  assert.ok(report.trials.every((t: { state: string }) => t.state === 'COMPLETE'), r.stderr);
  assert.ok(report.front.length >= 1);
  const resumed = spawnSync(process.execPath, [CLI, 'resume', 'onnx', '--trials', '4', '--workers', '1', '--db', db, '--data-dir', dataDir, '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 180_000 });
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.equal(JSON.parse(resumed.stdout).trials.length, 4);
  const check = new (require('better-sqlite3'))(db, { readonly: true });
  const teacher = JSON.parse(check.prepare('SELECT teacher_json FROM experiments').get().teacher_json);
  check.close();
  assert.equal(teacher.latencyRuntime, 'onnxruntime-node (CPU, 1 thread)');
});

test("latency: { runtime: onnxruntime } times the students on their ONNX export, and a TF.js teacher the same way; every latency says what measured it", async () => {
  const dir = tempDir();
  await standInSpace(dir); // saves an MLP teacher as dir/teacher/model.json: no built-in teacher to train
  const { result: r, db } = searchSpaceLines(dir, {
    name: 'ort-latency',
    trials: 2,
    lines: [
      'name: ort-latency',
      `teacher: ${join(dir, 'teacher', 'model.json')}`,
      'reference: { accuracy: 0.1, sizeBytes: 1000000, latencyMs: 10 }',
      'training: { epochs: 1, trainLimit: 400 }',
      'latency: { runtime: onnxruntime }',
      'precision: [float32, int8]',
      'families:',
      '  cnn: { depth: 1, filters: [4, 8], kernel: 3, norm: [false, true] }',
    ],
  });
  assert.equal(r.status, 0, r.stderr);
  const check = new (require('better-sqlite3'))(db, { readonly: true });
  const teacher = JSON.parse(check.prepare('SELECT teacher_json FROM experiments').get().teacher_json);
  const metrics = check.prepare("SELECT metrics_json FROM trials WHERE state = 'COMPLETE'").all().map((row: { metrics_json: string }) => JSON.parse(row.metrics_json));
  check.close();
  assert.equal(metrics.length, 2);
  for (const m of metrics) {
    assert.equal(m.latencyRuntime, 'onnxruntime-node (CPU, 1 thread, graph optimisation all)');
    assert.ok(m.latencyMs > 0 && m.latencyP10Ms <= m.latencyMs && m.latencyMs <= m.latencyP90Ms);
  }
  assert.equal(teacher.latencyRuntime, 'onnxruntime-node (CPU, 1 thread, graph optimisation all)');
});
