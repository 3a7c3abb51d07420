import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { loadCsvDataset } from '../src/datasets/csv';
import { loadIdxDataset } from '../src/datasets/idx';
import { loadDataset } from '../src/datasets/load';
import { loadEmbeddedMnist } from '../src/datasets/mnist-embedded';
import { errorCodeOf } from '../src/core/errors';
import { tempDir } from './support/helpers';

function idxImages(n: number, rows: number, cols: number, fill = (i: number) => i % 256): Buffer {
  const header = Buffer.alloc(16);
  header.writeUInt32BE(0x803, 0);
  header.writeUInt32BE(n, 4);
  header.writeUInt32BE(rows, 8);
  header.writeUInt32BE(cols, 12);
  return Buffer.concat([header, Buffer.from(Array.from({ length: n * rows * cols }, (_, i) => fill(i)))]);
}

function idxLabels(labels: number[]): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(0x801, 0);
  header.writeUInt32BE(labels.length, 4);
  return Buffer.concat([header, Buffer.from(labels)]);
}

function writeIdxFolder(files: Partial<Record<string, Buffer>>, gz = false): string {
  const dir = tempDir();
  const all: Record<string, Buffer> = {
    'train-images-idx3-ubyte': idxImages(6, 4, 5),
    'train-labels-idx1-ubyte': idxLabels([0, 1, 2, 0, 1, 2]),
    't10k-images-idx3-ubyte': idxImages(3, 4, 5),
    't10k-labels-idx1-ubyte': idxLabels([2, 1, 0]),
    ...files,
  } as Record<string, Buffer>;
  for (const [name, data] of Object.entries(all)) writeFileSync(join(dir, gz ? `${name}.gz` : name), gz ? gzipSync(data) : data);
  return dir;
}

function expectDatasetError(fn: () => unknown, code: string, ...fragments: string[]) {
  try {
    fn();
  } catch (err) {
    assert.equal(errorCodeOf(err), code, (err as Error).message);
    for (const f of fragments) assert.match((err as Error).message, new RegExp(f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    return;
  }
  assert.fail('expected an error');
}

test('IDX folders load, plain and gzipped, with their own train/test split', () => {
  for (const gz of [false, true]) {
    const ds = loadIdxDataset(writeIdxFolder({}, gz));
    assert.deepEqual(ds.inputShape, [4, 5, 1]);
    assert.equal(ds.numClasses, 3);
    assert.equal(ds.train.n, 6);
    assert.equal(ds.test.n, 3);
    assert.deepEqual(Array.from(ds.test.y), [2, 1, 0]);
    // Pixel 1 of image 0 is byte 1 -> 1/255.
    assert.ok(Math.abs(ds.train.x[1] - 1 / 255) < 1e-7);
  }
});

test('a wrong magic number names the file and the expected magic', () => {
  const bad = idxImages(6, 4, 5);
  bad.writeUInt32BE(0x801, 0);
  const dir = writeIdxFolder({ 'train-images-idx3-ubyte': bad });
  expectDatasetError(() => loadIdxDataset(dir), 'DATASET_MALFORMED', 'train-images-idx3-ubyte', '0x00000803');
});

test('truncated image data is reported with the sizes', () => {
  const dir = writeIdxFolder({ 't10k-images-idx3-ubyte': idxImages(3, 4, 5).subarray(0, 40) });
  expectDatasetError(() => loadIdxDataset(dir), 'DATASET_MALFORMED', 't10k-images-idx3-ubyte', 'truncated');
});

test('a label count different from the image count is refused', () => {
  const dir = writeIdxFolder({ 'train-labels-idx1-ubyte': idxLabels([0, 1, 2]) });
  expectDatasetError(() => loadIdxDataset(dir), 'DATASET_MALFORMED', 'train-labels-idx1-ubyte', '3 labels', '6 images');
});

test('a missing IDX file or folder is named', () => {
  expectDatasetError(() => loadIdxDataset('/nonexistent/kdsearch'), 'DATASET_NOT_FOUND', '/nonexistent/kdsearch');
  const dir = tempDir();
  expectDatasetError(() => loadIdxDataset(dir), 'DATASET_NOT_FOUND', 'train-images-idx3-ubyte');
});

test('a corrupt gzip file is named', () => {
  const dir = writeIdxFolder({});
  writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), 'not gzip');
  // The plain file is found first; remove it by writing the folder anew with gz only.
  const gzDir = writeIdxFolder({}, true);
  writeFileSync(join(gzDir, 'train-labels-idx1-ubyte.gz'), 'not gzip');
  expectDatasetError(() => loadIdxDataset(gzDir), 'DATASET_MALFORMED', 'train-labels-idx1-ubyte.gz', 'gzip');
});

test('CSV: label column by header name, numeric features, stratified split', () => {
  const dir = tempDir();
  const file = join(dir, 'd.csv');
  const rows = ['f1,label,f2'];
  for (let i = 0; i < 50; i++) rows.push(`${i / 10},${i % 2},${-i}`);
  writeFileSync(file, rows.join('\n'));
  const ds = loadCsvDataset(file);
  assert.deepEqual(ds.inputShape, [2]);
  assert.equal(ds.numClasses, 2);
  assert.equal(ds.train.n + ds.test.n, 50);
  assert.equal(ds.test.n, 10);
  // Stratified: 5 of each class in the test split.
  assert.equal(Array.from(ds.test.y).filter((v) => v === 1).length, 5);
  // Features keep their column order without the label column.
  const i = Array.from(ds.train.y).findIndex(() => true);
  assert.ok(Math.abs(ds.train.x[i * 2 + 1] + ds.train.x[i * 2] * 10) < 1e-5);
});

test('CSV: a non-numeric cell names the file, line and column', () => {
  const file = join(tempDir(), 'bad.csv');
  const rows = ['label,a,b'];
  for (let i = 0; i < 20; i++) rows.push(i === 7 ? '1,0.5,oops' : `${i % 2},0.1,0.2`);
  writeFileSync(file, rows.join('\n'));
  expectDatasetError(() => loadCsvDataset(file), 'DATASET_MALFORMED', 'bad.csv', 'line 9', 'column 3', 'oops');
});

test('CSV: ragged rows and fractional labels are refused', () => {
  const ragged = join(tempDir(), 'ragged.csv');
  writeFileSync(ragged, Array.from({ length: 20 }, (_, i) => (i === 4 ? '1,2' : '1,2,3')).join('\n'));
  expectDatasetError(() => loadCsvDataset(ragged), 'DATASET_MALFORMED', 'line 5', '2 columns');
  const frac = join(tempDir(), 'frac.csv');
  writeFileSync(frac, Array.from({ length: 20 }, (_, i) => `${i === 3 ? 0.5 : 1},2,3`).join('\n'));
  expectDatasetError(() => loadCsvDataset(frac), 'DATASET_MALFORMED', 'not a class index');
});

test('--dataset values other than mnist, idx:DIR, csv:FILE, images:DIR are a usage error', async () => {
  await assert.rejects(loadDataset('cifar', { dataDir: tempDir() }), (err) => errorCodeOf(err) === 'USAGE' && /cifar/.test((err as Error).message) && /idx:DIR/.test((err as Error).message));
});

test('embedded MNIST: 8000/2000 stratified, seeded, cached as bytes', () => {
  const dataDir = tempDir();
  const first = loadEmbeddedMnist({ dataDir });
  const again = loadEmbeddedMnist({ dataDir }); // from the binary cache
  assert.equal(first.train.n, 8000);
  assert.equal(first.test.n, 2000);
  assert.equal(first.fingerprint, again.fingerprint);
  assert.deepEqual(first.test.y.slice(0, 50), again.test.y.slice(0, 50));
  const testCounts = new Array(10).fill(0);
  const allCounts = new Array(10).fill(0);
  for (const y of first.test.y) testCounts[y]++;
  for (const y of [...first.test.y, ...first.train.y]) allCounts[y]++;
  for (let d = 0; d < 10; d++) assert.equal(testCounts[d], Math.round(allCounts[d] * 0.2), `class ${d}`);
  let max = 0;
  for (const v of first.train.x) max = Math.max(max, v);
  assert.equal(max, 1);
});

test('CSV: --label-column by name, number or last; .csv.gz read as well', () => {
  const dir = tempDir();
  // Digits-like: 64 features, the label last, and a first column that is always 0.
  const rows: string[] = [];
  for (let i = 0; i < 60; i++) rows.push([0, ...Array.from({ length: 63 }, (_, k) => (i * 7 + k) % 17), i % 10].join(','));
  const plain = join(dir, 'digits.csv');
  writeFileSync(plain, rows.join('\n'));
  const gz = join(dir, 'digits.csv.gz');
  writeFileSync(gz, gzipSync(rows.join('\n')));
  for (const file of [plain, gz]) {
    for (const labelColumn of ['last', 65] as const) {
      const ds = loadCsvDataset(file, { labelColumn });
      assert.deepEqual(ds.inputShape, [64], `${file} ${labelColumn}`);
      assert.equal(ds.numClasses, 10);
      assert.equal(ds.train.n + ds.test.n, 60);
    }
  }
  const named = join(dir, 'named.csv');
  writeFileSync(named, ['a,b,species', ...Array.from({ length: 30 }, (_, i) => `${i},${-i},${i % 3}`)].join('\n'));
  assert.equal(loadCsvDataset(named, { labelColumn: 'species' }).numClasses, 3);
  assert.equal(loadCsvDataset(named, { labelColumn: 3 }).numClasses, 3);
  expectDatasetError(() => loadCsvDataset(named, { labelColumn: 'colour' }), 'USAGE', 'colour', 'species');
  expectDatasetError(() => loadCsvDataset(named, { labelColumn: 4 }), 'USAGE', 'has 3 columns');
  // A header named target is the label without the flag.
  const target = join(dir, 'target.csv');
  writeFileSync(target, ['x1,x2,target', ...Array.from({ length: 30 }, (_, i) => `${i / 3},${i % 7},${i % 2}`)].join('\n'));
  assert.equal(loadCsvDataset(target).numClasses, 2);
});

test('CSV: without --label-column, a first column that does not look like labels stops, naming it and suggesting the flag', () => {
  const dir = tempDir();
  const rows: string[] = [];
  for (let i = 0; i < 60; i++) rows.push([0, ...Array.from({ length: 8 }, (_, k) => (i + k) % 5), i % 10].join(','));
  const file = join(dir, 'digits.csv');
  writeFileSync(file, rows.join('\n'));
  expectDatasetError(() => loadCsvDataset(file), 'DATASET_MALFORMED', 'digits.csv', 'column 1', 'one value (0) in all 60 rows', '--label-column', '--label-column last');
  const gaps = join(dir, 'gaps.csv');
  writeFileSync(gaps, Array.from({ length: 40 }, (_, i) => `${i % 2 ? 7 : 0},${i},${i % 3}`).join('\n'));
  expectDatasetError(() => loadCsvDataset(gaps), 'DATASET_MALFORMED', 'column 1', '2 distinct values up to 7');
});
