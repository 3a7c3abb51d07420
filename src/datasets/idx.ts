import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { KdError } from '../core/errors';
import { sha256 } from '../core/hash';
import { bytesToUnit } from './mnist-embedded';
import type { Dataset, Split } from './types';

const IMAGES_MAGIC = 0x00000803;
const LABELS_MAGIC = 0x00000801;

export const IDX_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

function malformed(file: string, problem: string): KdError {
  return new KdError('DATASET_MALFORMED', `${file}: ${problem}`);
}

/** Finds NAME or NAME.gz in the folder and returns its (decompressed) bytes. */
function readIdxFile(dir: string, name: string): { file: string; bytes: Buffer } {
  for (const candidate of [name, `${name}.gz`]) {
    const file = join(dir, candidate);
    if (!existsSync(file)) continue;
    const raw = readFileSync(file);
    if (!candidate.endsWith('.gz')) return { file, bytes: raw };
    try {
      return { file, bytes: gunzipSync(raw) };
    } catch (err) {
      throw malformed(file, `not a valid gzip file (${(err as Error).message})`);
    }
  }
  throw new KdError('DATASET_NOT_FOUND', `${dir}: expected a file ${name} (or ${name}.gz) in the IDX folder`);
}

function parseImages(file: string, bytes: Buffer): { pixels: Uint8Array; n: number; rows: number; cols: number } {
  if (bytes.length < 16) throw malformed(file, `too short for an IDX image header (${bytes.length} bytes, need 16)`);
  const magic = bytes.readUInt32BE(0);
  if (magic !== IMAGES_MAGIC) {
    throw malformed(file, `wrong magic number 0x${magic.toString(16).padStart(8, '0')}, expected 0x00000803 (IDX unsigned-byte images)`);
  }
  const n = bytes.readUInt32BE(4);
  const rows = bytes.readUInt32BE(8);
  const cols = bytes.readUInt32BE(12);
  const expected = 16 + n * rows * cols;
  if (bytes.length < expected) {
    throw malformed(file, `truncated: header declares ${n} images of ${rows}x${cols} (${expected} bytes) but the file has ${bytes.length} bytes`);
  }
  return { pixels: new Uint8Array(bytes.buffer, bytes.byteOffset + 16, n * rows * cols), n, rows, cols };
}

function parseLabels(file: string, bytes: Buffer): Uint8Array {
  if (bytes.length < 8) throw malformed(file, `too short for an IDX label header (${bytes.length} bytes, need 8)`);
  const magic = bytes.readUInt32BE(0);
  if (magic !== LABELS_MAGIC) {
    throw malformed(file, `wrong magic number 0x${magic.toString(16).padStart(8, '0')}, expected 0x00000801 (IDX unsigned-byte labels)`);
  }
  const n = bytes.readUInt32BE(4);
  if (bytes.length < 8 + n) {
    throw malformed(file, `truncated: header declares ${n} labels but the file has ${bytes.length - 8} label bytes`);
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset + 8, n);
}

function readPair(dir: string, imagesName: string, labelsName: string) {
  const images = readIdxFile(dir, imagesName);
  const labels = readIdxFile(dir, labelsName);
  const img = parseImages(images.file, images.bytes);
  const lab = parseLabels(labels.file, labels.bytes);
  if (lab.length !== img.n) {
    throw malformed(labels.file, `has ${lab.length} labels but ${images.file} has ${img.n} images; the counts must be equal`);
  }
  return { ...img, labels: lab, imagesFile: images.file };
}

/** An IDX folder (MNIST / Fashion-MNIST format); its own train/test split is used. */
export function loadIdxDataset(dir: string): Dataset {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new KdError('DATASET_NOT_FOUND', `${dir}: expected a folder holding the four IDX files (${Object.values(IDX_FILES).join(', ')})`);
  }
  const train = readPair(dir, IDX_FILES.trainImages, IDX_FILES.trainLabels);
  const test = readPair(dir, IDX_FILES.testImages, IDX_FILES.testLabels);
  if (train.rows !== test.rows || train.cols !== test.cols) {
    throw malformed(test.imagesFile, `images are ${test.rows}x${test.cols} but the training images are ${train.rows}x${train.cols}`);
  }
  let maxLabel = 0;
  for (const l of [train.labels, test.labels]) for (const v of l) maxLabel = Math.max(maxLabel, v);
  const toSplit = (p: typeof train): Split => ({ x: bytesToUnit(p.pixels), y: Int32Array.from(p.labels), n: p.n });
  return {
    source: `idx:${dir}`,
    inputShape: [train.rows, train.cols, 1],
    numClasses: Math.max(2, maxLabel + 1),
    train: toSplit(train),
    test: toSplit(test),
    fingerprint: sha256('idx', train.pixels, train.labels, test.pixels, test.labels),
  };
}
