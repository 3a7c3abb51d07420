import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { LabelColumn } from '../core/dataset-spec';
import { KdError } from '../core/errors';
import { sha256 } from '../core/hash';
import { stratifiedSplit } from './split';
import type { Dataset } from './types';

function malformed(file: string, problem: string): KdError {
  return new KdError('DATASET_MALFORMED', `${file}: ${problem}`);
}

/** Header names taken as the label column when --label-column is not given. */
const LABEL_NAMES = new Set(['label', 'labels', 'class', 'target', 'y']);

function readText(file: string): string {
  const raw = readFileSync(file);
  if (!file.endsWith('.gz')) return raw.toString('utf8');
  try {
    return gunzipSync(raw).toString('utf8');
  } catch (err) {
    throw malformed(file, `not a valid gzip file (${(err as Error).message})`);
  }
}

function labelIndex(file: string, header: string[] | undefined, width: number, given: LabelColumn): number {
  if (given === 'last') return width - 1;
  if (typeof given === 'number') {
    if (given > width) throw new KdError('USAGE', `--label-column ${given}: ${file} has ${width} columns`);
    return given - 1;
  }
  const at = header?.findIndex((c) => c === given) ?? -1;
  if (at < 0) {
    throw new KdError('USAGE', `--label-column ${given}: ${file} has ${header ? `no column named "${given}" (its header: ${header.join(', ')})` : 'no header row to name a column'}`);
  }
  return at;
}

/**
 * Why a column, picked without --label-column, does not look like class
 * labels (undefined when it does): every value a non-negative integer, at
 * least two classes, and no class index missing below the largest.
 */
function notALabel(values: number[]): string | undefined {
  const bad = values.find((v) => !Number.isInteger(v) || v < 0);
  if (bad !== undefined) return `it holds ${bad}, not a class index (a non-negative integer)`;
  const classes = new Set(values);
  if (classes.size < 2) return `it holds one value (${values[0]}) in all ${values.length} rows`;
  const max = Math.max(...classes);
  if (classes.size < max + 1) return `it holds ${classes.size} distinct values up to ${max}: class indices ${max + 1 - classes.size} of 0..${max} never occur`;
  return undefined;
}

/**
 * A CSV file (or .csv.gz): one row per sample, numeric feature columns and
 * a label column: the one --label-column names; else one whose header is
 * label / class / target / y; else the first, but only when it looks like
 * class labels, so a file whose label is elsewhere (scikit-learn's
 * digits.csv keeps it last) stops with a message instead of training on a
 * pixel. A header row is detected. A seeded, stratified 80/20 split makes
 * the test set.
 */
export function loadCsvDataset(file: string, opts: { labelColumn?: LabelColumn; splitSeed?: number } = {}): Dataset {
  if (!existsSync(file)) throw new KdError('DATASET_NOT_FOUND', `${file}: CSV file does not exist`);
  const lines = readText(file).split(/\r?\n/);
  const first = lines[0]?.split(',').map((c) => c.trim()) ?? [];
  const header = first.some((c) => c !== '' && !Number.isFinite(Number(c))) ? first : undefined;
  const start = header ? 1 : 0;
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
  let labelCol: number;
  if (opts.labelColumn !== undefined) {
    labelCol = labelIndex(file, header, width, opts.labelColumn);
  } else {
    const named = header?.findIndex((c) => LABEL_NAMES.has(c.toLowerCase())) ?? -1;
    labelCol = named >= 0 ? named : 0;
    const why = notALabel(rows.map((r) => r[labelCol]));
    if (why) {
      const name = header ? `"${header[labelCol]}" (column ${labelCol + 1})` : `column ${labelCol + 1}`;
      const lastWhy = notALabel(rows.map((r) => r[width - 1]));
      const hint = labelCol !== width - 1 && !lastWhy ? ' The last column does look like one: --label-column last.' : '';
      throw malformed(file, `no label column given and ${name}, taken as the label, does not look like class labels: ${why}. Name it with --label-column NAME|NUMBER|last (in a space: dataset: { source: csv:FILE, labelColumn: ... }).${hint}`);
    }
  }
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
