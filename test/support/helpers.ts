import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/model/backend';

export const ROOT = join(__dirname, '..', '..', '..');
export const CLI = join(__dirname, '..', '..', 'src', 'cli.js');

export function tempDir(prefix = 'kdsearch-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Tests run on wasm, the backend every user has. */
export async function useWasm(): Promise<void> {
  await initBackend('wasm');
  await tf.setBackend('wasm');
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** The tiny test space and an experiment over it, stored as a search would store it. */
export function tinyExperiment(store: import('../../src/store/store').Store, opts: { name: string; trials: number }) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { loadSearchSpace } = require('../../src/space/load') as typeof import('../../src/space/load');
  const file = join(ROOT, 'test', 'fixtures', 'spaces', 'tiny.yaml');
  const { space, text } = loadSearchSpace(file);
  return store.createExperiment({
    name: opts.name,
    spaceText: text,
    space,
    spaceHash: 'h',
    spaceFile: file,
    controller: 'random',
    seed: 0,
    plannedTrials: opts.trials,
    teacher: { source: 'builtin', accuracy: 0.9835, params: 225034, macs: 2631040, sizeBytes: 900136, latencyMs: 0.5 },
    teacherFingerprint: 't',
    datasetFingerprint: 'd',
  });
}

/**
 * The tiny space with a small stand-in teacher saved on disk, as a user
 * brings one, so no test trains the built-in teacher. Returns the space file.
 */
export async function standInSpace(dir: string): Promise<string> {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { buildModel } = require('../../src/model/build') as typeof import('../../src/model/build');
  const { fileSaver } = require('../../src/model/file-io') as typeof import('../../src/model/file-io');
  const { parseStudentSpec } = require('../../src/space/student') as typeof import('../../src/space/student');
  const { readFileSync, writeFileSync } = require('node:fs') as typeof import('node:fs');
  /* eslint-enable @typescript-eslint/no-require-imports */
  await useWasm();
  const teacher = buildModel(parseStudentSpec({ kind: 'mlp', hidden: [32] }, 't') as never, { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  await teacher.save(fileSaver(join(dir, 'teacher')));
  teacher.dispose();
  const spaceFile = join(dir, 'tiny.yaml');
  const text = readFileSync(join(ROOT, 'test', 'fixtures', 'spaces', 'tiny.yaml'), 'utf8').replace('name: tiny', `name: tiny\nteacher: ${join(dir, 'teacher', 'model.json')}`);
  writeFileSync(spaceFile, text);
  return spaceFile;
}

/**
 * Writes a space file from its lines into `dir` and runs `kdsearch search`
 * on it as a user would (one worker, a private database and data dir,
 * --json); returns the process result and where things went.
 */
export function searchSpaceLines(dir: string, opts: { name: string; lines: string[]; trials: number }) {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { writeFileSync } = require('node:fs') as typeof import('node:fs');
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const space = join(dir, `${opts.name}.yaml`);
  // Smoke-run timing unless the test is about latency: these searches check other things.
  const lines = opts.lines.some((l) => l.startsWith('latency:')) ? opts.lines : [...opts.lines, 'latency: { effort: quick }'];
  writeFileSync(space, lines.join('\n'));
  const db = join(dir, 'k.db');
  const dataDir = join(dir, 'data');
  const result = spawnSync(process.execPath, [CLI, 'search', '--space', space, '--name', opts.name, '--trials', String(opts.trials), '--workers', '1', '--db', db, '--data-dir', dataDir, '--json'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 180_000,
  });
  return { result, db, dataDir };
}

/** A stand-in teacher's logits for the embedded MNIST: confident, pointing at the true label. */
export function labelLogits(dataset: import('../../src/datasets/types').Dataset): Float32Array {
  const logits = new Float32Array(dataset.train.n * dataset.numClasses);
  for (let i = 0; i < dataset.train.n; i++) logits[i * dataset.numClasses + dataset.train.y[i]] = 5;
  return logits;
}
