import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { buildModel } from '../src/model/build';
import { kerasArchitecture } from '../src/model/keras-architecture';
import type { ConcreteSpec } from '../src/space/student';
import { searchSpaceLines, standInSpace, tempDir, useWasm } from './support/helpers';

before(useWasm);

const common = { precision: 'float32' as const, quantization: 'per-tensor' as const, qat: false };

test("a TF.js teacher's layers read back as the spec that built them (batch norm, average and global pooling too); a layer students do not have gives none", () => {
  const specs: ConcreteSpec[] = [
    { kind: 'cnn', blocks: [{ op: 'conv', filters: 8, kernel: 3, padding: 'valid', pool: true }, { op: 'sepconv', filters: 16, kernel: 5, padding: 'same', pool: true }], dense: [32], dropout: 0.25, ...common },
    { kind: 'mlp', hidden: [32, 16], dropout: 0, ...common },
    {
      kind: 'cnn',
      blocks: [{ op: 'conv', filters: 8, kernel: 3, padding: 'same', pool: 'avg', norm: true }, { op: 'sepconv', filters: 12, kernel: 3, padding: 'valid', pool: true, norm: true }, { op: 'conv', filters: 6, kernel: 3, padding: 'same', pool: false }],
      head: 'gap',
      dense: [16],
      denseNorm: true,
      dropout: 0,
      ...common,
    },
    { kind: 'mlp', hidden: [20], denseNorm: true, dropout: 0.1, ...common },
  ];
  for (const spec of specs) {
    const model = buildModel(spec, { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
    assert.deepEqual(kerasArchitecture(model.toJSON(null, false) as unknown as Record<string, unknown>), spec);
    model.dispose();
  }
  const withBatchNorm = { config: { layers: [{ class_name: 'Dense', config: { units: 8, activation: 'relu' } }, { class_name: 'BatchNormalization', config: {} }, { class_name: 'Dense', config: { units: 10 } }] } };
  assert.equal(kerasArchitecture(withBatchNorm), undefined);
});

test('a search with a TF.js teacher from disk builds teacher-copies of it', async () => {
  const dir = tempDir();
  await standInSpace(dir); // saves an MLP teacher (hidden [32]) as dir/teacher/model.json
  const { result } = searchSpaceLines(dir, {
    name: 'copies',
    trials: 2,
    lines: [
      'name: copies',
      `teacher: ${join(dir, 'teacher', 'model.json')}`,
      'reference: { accuracy: 0.1, sizeBytes: 1000000, latencyMs: 10 }',
      'training: { epochs: 1, trainLimit: 300 }',
      'families:',
      '  teacher-copy: { depth: 1, width: [0.5, 0.25] }',
    ],
  });
  assert.equal(result.status, 0, result.stderr);
  const report = JSON.parse(result.stdout) as { trials: Array<{ state: string; family: string }> };
  assert.deepEqual(report.trials.map((t) => [t.family, t.state]), [['teacher-copy', 'COMPLETE'], ['teacher-copy', 'COMPLETE']]);
});
