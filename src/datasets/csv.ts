import { existsSync, readFileSync } from 'node:fs';
import { KdError } from '../core/errors';
import { sha256 } from '../core/hash';
import { stratifiedSplit } from './split';
import type { Dataset } from './types';

function malformed(file: string, problem: string): KdError {
  return new KdError('DATASET_MALFORMED', `${file}: ${problem}`);
}

/**
 * A CSV file: one row per sample, a label column (named "label" in a header
 * row, else the first column) and numeric feature columns. Features are used
 * as given; a seeded, stratified 80/20 split makes the test set.
 */
export function loadCsvDataset(file: string, opts: { splitSeed?: number } = {}): Dataset {
  if (!existsSync(file)) throw new KdError('DATASET_NOT_FOUND', `${file}: CSV file does not exist`);
  const lines = readFileSync(file, 'utf8').split(/\r?\n/);
  let start = 0;
  let labelCol = 0;
  const first = lines[0]?.split(',').map((c) => c.trim()) ?? [];
  const hasHeader = first.some((c) => c !== '' && !Number.isFinite(Number(c)));
  if (hasHeader) {
    const named = first.findIndex((c) => c.toLowerCase() === 'label');
    labelCol = named >= 0 ? named : 0;
    start = 1;
  }
  const rows: number[][] = [];
  let width = -1;
  for (let i = start; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    const cells = line.split(',');
    if (width < 0) width = cells.length;
    if (cells.length !== width) {
      throw malformed(file, `line ${i + 1} has ${cells.length} columns, expected ${width} like the first data row`);
    }
    rows.push(
      cells.map((cell, col) => {
        const v = Number(cell.trim());
        if (cell.trim() === '' || !Number.isFinite(v)) {
          throw malformed(file, `line ${i + 1}, column ${col + 1}: "${cell.trim()}" is not a number`);
        }
        return v;
      }),
    );
  }
  if (rows.length < 10) throw malformed(file, `has ${rows.length} data rows; at least 10 are needed to split train and test`);
  if (width < 2) throw malformed(file, 'needs a label column and at least one feature column');
  const features = width - 1;
  const x = new Float32Array(rows.length * features);
  const y = new Int32Array(rows.length);
  let maxLabel = 0;
  rows.forEach((row, r) => {
    const label = row[labelCol];
    if (!Number.isInteger(label) || label < 0) {
      throw malformed(file, `line ${r + start + 1}, label column ${labelCol + 1}: "${label}" is not a class index (a non-negative integer)`);
    }
    y[r] = label;
    maxLabel = Math.max(maxLabel, label);
    let k = 0;
    for (let c = 0; c < width; c++) if (c !== labelCol) x[r * features + k++] = row[c];
  });
  const numClasses = Math.max(2, maxLabel + 1);
  const { train, test } = stratifiedSplit(
    { x, y, n: rows.length },
    { numClasses, testFraction: 0.2, seed: opts.splitSeed ?? 0, featureSize: features },
  );
  return {
    source: `csv:${file}`,
    inputShape: [features],
    numClasses,
    train,
    test,
    fingerprint: sha256('csv', String(opts.splitSeed ?? 0), x, y),
  };
}
