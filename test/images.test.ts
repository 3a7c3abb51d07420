import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import sharp from 'sharp';
import { errorCodeOf } from '../src/core/errors';
import { loadImageFolder } from '../src/datasets/images';
import { Store } from '../src/store/store';
import { startServer } from '../src/web/server';
import { CLI, ROOT, searchSpaceLines, tempDir } from './support/helpers';

/** Circles and squares (and, for three classes, crosses), drawn as 12x12 RGB PNGs: easy for any CNN. */
async function drawFolder(dir: string, opts: { classes?: string[]; perClass?: number; size?: number } = {}) {
  const size = opts.size ?? 12;
  const classes = opts.classes ?? ['square', 'circle'];
  for (const cls of classes) {
    mkdirSync(join(dir, cls), { recursive: true });
    for (let i = 0; i < (opts.perClass ?? 20); i++) {
      const px = Buffer.alloc(size * size * 3, 16);
      const c = size / 2 + ((i % 3) - 1);
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const inside = cls === 'circle' ? Math.hypot(x - c, y - c) < size / 3 : cls === 'square' ? Math.max(Math.abs(x - c), Math.abs(y - c)) < size / 3 : Math.abs(x - c) < 1.5 || Math.abs(y - c) < 1.5;
          if (inside) px.fill(200 + (i % 40), (y * size + x) * 3, (y * size + x) * 3 + 1);
        }
      }
      await sharp(px, { raw: { width: size, height: size, channels: 3 } }).png().toFile(join(dir, cls, `${i}.png`));
    }
  }
}

let folder: string;
before(async () => {
  folder = join(tempDir(), 'shapes');
  await drawFolder(folder);
});

test('images: class folders in alphabetical order, a seeded stratified 80/20 split, pixels in [0, 1], decoded once into a cache', async () => {
  const dataDir = tempDir();
  const lines: string[] = [];
  const ds = await loadImageFolder(folder, { dataDir, log: (l) => lines.push(l) });
  assert.deepEqual(ds.classNames, ['circle', 'square'], 'as torchvision ImageFolder orders them');
  assert.deepEqual(ds.inputShape, [12, 12, 3]);
  assert.equal(ds.train.n, 32);
  assert.equal(ds.test.n, 8);
  assert.equal(Array.from(ds.test.y).filter((v) => v === 0).length, 4, 'stratified');
  assert.ok(Math.max(...ds.train.x) <= 1 && Math.min(...ds.train.x) >= 0 && Math.max(...ds.train.x) > 0.7);
  assert.ok(lines.some((l) => /decoding 40 images of 2 classes to 12x12x3/.test(l)), lines.join('\n'));
  const again: string[] = [];
  const cached = await loadImageFolder(folder, { dataDir, log: (l) => again.push(l) });
  assert.ok(again.some((l) => /reusing the decoded cache/.test(l)));
  assert.equal(cached.fingerprint, ds.fingerprint);
  // Grey and resized on request.
  const grey = await loadImageFolder(folder, { dataDir, log: () => {}, channels: 1, imageSize: [8, 10] });
  assert.deepEqual(grey.inputShape, [8, 10, 1]);
  assert.notEqual(grey.fingerprint, ds.fingerprint);
});

test('images: train/ and test/ folders are used as given', async () => {
  const dir = join(tempDir(), 'given');
  await drawFolder(join(dir, 'train'), { perClass: 10 });
  await drawFolder(join(dir, 'test'), { perClass: 3 });
  const ds = await loadImageFolder(dir, { dataDir: tempDir(), log: () => {} });
  assert.equal(ds.train.n, 20);
  assert.equal(ds.test.n, 6);
  assert.deepEqual(ds.classNames, ['circle', 'square']);
});

test('images: a corrupt image stops with its file name, unless --skip-bad-images, which lists it', async () => {
  const dir = join(tempDir(), 'broken');
  await drawFolder(dir, { perClass: 8 });
  writeFileSync(join(dir, 'square', 'corrupt.png'), 'not a png at all');
  await assert.rejects(loadImageFolder(dir, { dataDir: tempDir(), log: () => {} }), (err) => {
    assert.equal(errorCodeOf(err), 'DATASET_MALFORMED');
    assert.match((err as Error).message, /square\/corrupt\.png: not a readable image/);
    assert.match((err as Error).message, /--skip-bad-images/);
    return true;
  });
  const lines: string[] = [];
  const ds = await loadImageFolder(dir, { dataDir: tempDir(), log: (l) => lines.push(l), skipBadImages: true });
  assert.equal(ds.train.n + ds.test.n, 16);
  assert.ok(lines.some((l) => /skipped 1 that did not decode: .*corrupt\.png/.test(l)), lines.join('\n'));
  // From the CLI: exit 1 and the file's name.
  const r = spawnSync(process.execPath, [CLI, 'distill', '--dataset', `images:${dir}`, '--student', '{"kind":"mlp"}', '--data-dir', tempDir()], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /DATASET_MALFORMED.*corrupt\.png/);
});

test('a search over an image folder, with the built-in teacher fitted to it, shows the class names in the report', async () => {
  const { result: r, db } = searchSpaceLines(tempDir(), {
    name: 'shapes',
    trials: 3,
    lines: [
      'name: shapes',
      `dataset: { source: "images:${folder}", channels: 3 }`,
      'objectives: [accuracy, sizeBytes, latencyMs]',
      'reference: { accuracy: 0.4, sizeBytes: 100000, latencyMs: 10 }',
      'training: { epochs: 2, batchSize: 16, learningRate: 0.01 }',
      'families:',
      '  cnn: { depth: 1, filters: [4, 8], kernel: 3 }',
      '  teacher-copy: { depth: 0.5, width: 0.25 }',
    ],
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /2 classes \(circle, square\)/);
  const report = JSON.parse(r.stdout);
  assert.equal(report.trials.length, 3);
  assert.ok(report.trials.every((t: { state: string }) => t.state === 'COMPLETE'), r.stderr);
  const store = Store.open(db, { readonly: true });
  assert.deepEqual(store.getExperiment('shapes').dataset?.classNames, ['circle', 'square']);
  store.close();
  const server = await startServer({ db, port: 0, host: '127.0.0.1' }, () => {});
  try {
    const html = await (await fetch(`${server.url}experiments/shapes`)).text();
    assert.match(html, /2 classes \(0 circle, 1 square\)/);
    assert.match(html, /input \[12 × 12 × 3\]/);
  } finally {
    await server.close();
  }
});

test('a space naming a missing image folder is refused with the space file, the field and the path', () => {
  const dir = tempDir();
  const space = join(dir, 'missing.yaml');
  writeFileSync(space, ['name: missing', `dataset: "images:${join(dir, 'nowhere')}"`, 'reference: { accuracy: 0.5, sizeBytes: 1000, latencyMs: 1 }', 'training: { epochs: 1 }', 'families: { mlp: { depth: 1, units: 8 } }'].join('\n'));
  const r = spawnSync(process.execPath, [CLI, 'search', '--space', space, '--db', join(dir, 'k.db'), '--data-dir', join(dir, 'data')], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /DATASET_NOT_FOUND/);
  assert.match(r.stderr, /missing\.yaml, field "dataset"/);
  assert.match(r.stderr, /nowhere: image folder does not exist/);
});
