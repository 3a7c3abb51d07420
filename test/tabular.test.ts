import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { CLI, ROOT, tempDir } from './support/helpers';

/** A digits-like gzipped CSV: 16 features, the first always 0, the label last (10 classes, learnable: the feature that is hot). */
function digitsLike(dir: string): string {
  const rows: string[] = [];
  for (let i = 0; i < 400; i++) {
    const label = i % 10;
    const features = Array.from({ length: 16 }, (_, k) => (k === 0 ? 0 : k === label + 3 ? 12 + (i % 5) : (i * 7 + k) % 4));
    rows.push([...features, label].join(','));
  }
  const file = join(dir, 'digits.csv.gz');
  writeFileSync(file, gzipSync(rows.join('\n')));
  return file;
}

test('a gzipped CSV with its label last trains with --label-column last and the built-in teacher (an MLP for feature vectors); without the flag it stops', () => {
  const dir = tempDir();
  const file = digitsLike(dir);
  const run = (...extra: string[]) =>
    spawnSync(process.execPath, [CLI, 'distill', '--dataset', `csv:${file}`, ...extra, '--student', '{"kind":"mlp","hidden":[16]}', '--epochs', '10', '--batch-size', '16', '--lr', '0.01', '--data-dir', join(dir, 'data'), '--json'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });
  const refused = run();
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /DATASET_MALFORMED.*column 1.*--label-column last/s);
  const r = run('--label-column', 'last');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /10 classes/);
  assert.match(r.stderr, /training the built-in MLP/);
  const report = JSON.parse(r.stdout);
  assert.ok(report.teacherAccuracy > 0.9, `teacher ${report.teacherAccuracy}`);
  assert.ok(report.accuracy > 0.5, `student ${report.accuracy}`);
});
