import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import { cacheDir, writeAtomic } from '../core/data-dir';
import { KdError } from '../core/errors';
import { sha256 } from '../core/hash';
import type { Log } from '../core/log';
import { createRng } from '../core/rng';
import { bytesToUnit } from './mnist-embedded';
import { stratifiedSplit, take } from './split';
import type { Dataset, Split } from './types';

const IMAGE_EXTENSIONS = /\.(png|jpe?g|webp)$/i;
const CACHE_MAGIC = 'KDIMAGE1';

export interface ImageFolderOptions {
  imageSize?: [number, number];
  channels?: 1 | 3;
  skipBadImages?: boolean;
  dataDir: string;
  log: Log;
  splitSeed?: number;
}

interface ImageFile {
  path: string;
  label: number;
  split: 'train' | 'test' | 'any';
}

const subfolders = (dir: string) =>
  readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();

/** The files of a folder of class folders, or of train/ and test/ folders of class folders; classes in alphabetical order, as torchvision's ImageFolder has them. */
function listImages(dir: string): { classNames: string[]; files: ImageFile[]; givenSplit: boolean } {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new KdError('DATASET_NOT_FOUND', `${dir}: image folder does not exist`);
  const top = subfolders(dir);
  const givenSplit = top.includes('train') && top.includes('test');
  const roots: Array<[string, ImageFile['split']]> = givenSplit ? [[join(dir, 'train'), 'train'], [join(dir, 'test'), 'test']] : [[dir, 'any']];
  const classNames = [...new Set(roots.flatMap(([root]) => subfolders(root)))].sort();
  if (classNames.length < 2) {
    throw new KdError('DATASET_MALFORMED', `${dir}: expected a folder per class (at least 2), e.g. ${dir}/cat/*.png and ${dir}/dog/*.png, or train/ and test/ folders holding them`);
  }
  const files: ImageFile[] = [];
  for (const [root, split] of roots) {
    for (const [label, name] of classNames.entries()) {
      const folder = join(root, name);
      if (!existsSync(folder)) continue;
      for (const f of readdirSync(folder).sort()) if (IMAGE_EXTENSIONS.test(f)) files.push({ path: join(folder, f), label, split });
    }
  }
  if (files.length < 10) throw new KdError('DATASET_MALFORMED', `${dir}: ${files.length} images (.png, .jpg, .jpeg, .webp) found; at least 10 are needed`);
  return { classNames, files, givenSplit };
}

/** The most common of a list of values (ties: the first seen). */
function mostCommon<T>(values: readonly T[], key: (v: T) => string): T {
  const counts = new Map<string, { value: T; n: number }>();
  for (const v of values) {
    const k = key(v);
    const c = counts.get(k) ?? { value: v, n: 0 };
    c.n++;
    counts.set(k, c);
  }
  return [...counts.values()].reduce((a, b) => (b.n > a.n ? b : a)).value;
}

async function inPool<T, R>(items: readonly T[], width: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await work(items[i], i);
      }
    }),
  );
  return out;
}

interface Decoded {
  classNames: string[];
  height: number;
  width: number;
  channels: number;
  pixels: Uint8Array;
  labels: Int32Array;
  splits: Uint8Array; // 0 any, 1 train, 2 test
  skipped: string[];
}

function writeCache(file: string, d: Decoded): void {
  const meta = Buffer.from(JSON.stringify({ classNames: d.classNames, height: d.height, width: d.width, channels: d.channels, n: d.labels.length, skipped: d.skipped }));
  const head = Buffer.alloc(12);
  head.write(CACHE_MAGIC, 0, 'latin1');
  head.writeUInt32LE(meta.length, 8);
  writeAtomic(file, Buffer.concat([head, meta, Buffer.from(d.labels.buffer, d.labels.byteOffset, d.labels.byteLength), Buffer.from(d.splits), Buffer.from(d.pixels)]));
}

function readCache(file: string): Decoded | undefined {
  if (!existsSync(file)) return undefined;
  const buf = readFileSync(file);
  if (buf.length < 12 || buf.toString('latin1', 0, 8) !== CACHE_MAGIC) return undefined;
  const metaLength = buf.readUInt32LE(8);
  const meta = JSON.parse(buf.toString('utf8', 12, 12 + metaLength)) as Omit<Decoded, 'pixels' | 'labels' | 'splits'> & { n: number };
  let at = 12 + metaLength;
  const labels = new Int32Array(buf.buffer.slice(buf.byteOffset + at, buf.byteOffset + at + meta.n * 4));
  at += meta.n * 4;
  const splits = new Uint8Array(buf.subarray(at, at + meta.n));
  at += meta.n;
  const pixels = new Uint8Array(buf.subarray(at));
  if (pixels.length !== meta.n * meta.height * meta.width * meta.channels) return undefined;
  return { ...meta, pixels, labels, splits };
}

async function decodeAll(dir: string, files: ImageFile[], classNames: string[], opts: ImageFolderOptions): Promise<Decoded> {
  const bad = (file: string, err: unknown) => new KdError('DATASET_MALFORMED', `${file}: not a readable image (${(err as Error).message}); remove it, or pass --skip-bad-images to leave it out`);
  const skipped: string[] = [];
  // Headers only: the most common size and whether any image has colour.
  const metas = await inPool(files, 4, async (f) => {
    try {
      const m = await sharp(f.path).metadata();
      return { ok: true as const, height: m.height ?? 0, width: m.width ?? 0, colour: (m.channels ?? 1) >= 3 && m.space !== 'b-w' };
    } catch (err) {
      if (!opts.skipBadImages) throw bad(f.path, err);
      return { ok: false as const };
    }
  });
  const readable = metas.filter((m) => m.ok);
  if (readable.length === 0) throw new KdError('DATASET_MALFORMED', `${dir}: no image could be read`);
  const size = opts.imageSize ?? (() => {
    const m = mostCommon(readable, (v) => `${v.height}x${v.width}`);
    return [m.height, m.width] as [number, number];
  })();
  const channels = opts.channels ?? (readable.some((m) => m.colour) ? 3 : 1);
  const [height, width] = size;
  const per = height * width * channels;
  opts.log(`images: decoding ${files.length} images of ${classNames.length} classes to ${height}x${width}x${channels}`);
  let done = 0;
  const decoded = await inPool(files, 4, async (f, i) => {
    try {
      if (!metas[i].ok) {
        skipped.push(f.path);
        return undefined;
      }
      let image = sharp(f.path).resize(width, height, { fit: 'fill' }).removeAlpha();
      image = channels === 1 ? image.grayscale() : image.toColourspace('srgb');
      const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
      if (info.channels !== channels || data.length !== per) throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}`);
      return data;
    } catch (err) {
      if (!opts.skipBadImages) throw bad(f.path, err);
      skipped.push(f.path);
      return undefined;
    } finally {
      done++;
      if (done % Math.max(1, Math.ceil(files.length / 10)) === 0 || done === files.length) opts.log(`images: ${done}/${files.length} decoded`);
    }
  });
  const kept = files.map((f, i) => ({ f, data: decoded[i] })).filter((k) => k.data !== undefined);
  const pixels = new Uint8Array(kept.length * per);
  const labels = new Int32Array(kept.length);
  const splits = new Uint8Array(kept.length);
  kept.forEach((k, i) => {
    pixels.set(k.data!, i * per);
    labels[i] = k.f.label;
    splits[i] = k.f.split === 'train' ? 1 : k.f.split === 'test' ? 2 : 0;
  });
  return { classNames, height, width, channels, pixels, labels, splits, skipped: skipped.sort() };
}

/**
 * A folder of images, one sub-folder per class (`DIR/<class>/*.png|jpg|webp`,
 * split 80/20, seeded and stratified), or `DIR/train/<class>/…` and
 * `DIR/test/<class>/…` used as given. Decoded with sharp once, resized and
 * converted to grey or RGB, pixels in [0, 1], into a binary cache under
 * data/cache keyed by the file list with sizes and modification times.
 */
export async function loadImageFolder(dir: string, opts: ImageFolderOptions): Promise<Dataset> {
  const { classNames, files, givenSplit } = listImages(dir);
  const key = sha256(
    CACHE_MAGIC,
    JSON.stringify({ imageSize: opts.imageSize, channels: opts.channels, skipBadImages: opts.skipBadImages ?? false }),
    ...files.map((f) => {
      const s = statSync(f.path);
      return `${relative(dir, f.path)}:${s.size}:${s.mtimeMs}`;
    }),
  ).slice(0, 24);
  const cacheFile = join(cacheDir(opts.dataDir), `images-${key}.bin`);
  let d = readCache(cacheFile);
  if (d) opts.log(`images: reusing the decoded cache ${cacheFile}`);
  else {
    d = await decodeAll(dir, files, classNames, opts);
    writeCache(cacheFile, d);
  }
  if (d.skipped.length) opts.log(`images: skipped ${d.skipped.length} that did not decode: ${d.skipped.join(', ')}`);
  const inputShape = [d.height, d.width, d.channels];
  const per = d.height * d.width * d.channels;
  const all: Split = { x: bytesToUnit(d.pixels), y: d.labels, n: d.labels.length };
  let train: Split;
  let test: Split;
  if (givenSplit) {
    const rng = createRng('split', opts.splitSeed ?? 0);
    const pick = (code: number) => {
      const idx = Array.from(d!.splits.keys()).filter((i) => d!.splits[i] === code);
      rng.shuffle(idx); // so that a prefix (--train-limit) keeps every class
      return take(all, idx, per);
    };
    train = pick(1);
    test = pick(2);
    if (train.n === 0 || test.n === 0) throw new KdError('DATASET_MALFORMED', `${dir}: train/ and test/ must each hold images`);
  } else {
    ({ train, test } = stratifiedSplit(all, { numClasses: classNames.length, testFraction: 0.2, seed: opts.splitSeed ?? 0, featureSize: per }));
  }
  return {
    source: `images:${dir}`,
    inputShape,
    numClasses: classNames.length,
    classNames: d.classNames,
    train,
    test,
    fingerprint: sha256('images', String(opts.splitSeed ?? 0), JSON.stringify(d.classNames), d.pixels, d.labels, d.splits),
  };
}
