/**
 * The side-by-side of bench:search: Optuna's NSGA-II with PyTorch
 * (bench/reference/optuna_search.py) over the quick space restricted to
 * what both do alike, scored by kdsearch's hypervolume code on accuracy
 * and sizeBytes, under the same wall-clock budget and 2 worker processes;
 * each run appended to the arms' results file as arm "optuna-pytorch" of
 * task "restricted" (kdsearch's arms run on the same task).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { frontHypervolume } from '../src/search/objectives';
import { searchSpaceSchema } from '../src/space/schema';
import type { TrialRecord } from '../src/space/history';
import { setUpTrials } from '../src/runtime/prepare-run';
import { teacherLogitsFile } from '../src/distill/teacher';
import type { ArmRun, Task } from './search-arms';

const ROOT = join(__dirname, '..', '..');

/** The quick space as both sides can search it: offline, float32 and int8 PTQ, accuracy and size. */
export function restrictedTask(space: string, seeds: number): Task & { seeds: number } {
  return {
    name: 'restricted',
    space,
    seeds,
    overrides: { scheme: 'offline', qat: false, precision: ['float32', 'int8'], objectives: ['accuracy', 'sizeBytes'] },
  };
}

/** The task's space as kdsearch parses it. */
function parsedSpace(task: Task) {
  const doc = parse(readFileSync(join(ROOT, task.space), 'utf8')) as Record<string, unknown>;
  return searchSpaceSchema.parse({ ...doc, ...task.overrides });
}

/** The training and test split and kdsearch's cached teacher logits, as raw files the reference reads. */
async function exportData(task: Task, dir: string, dataDir: string): Promise<void> {
  if (existsSync(join(dir, 'meta.json'))) return;
  const space = parsedSpace(task);
  const setup = await setUpTrials({ space, backend: 'wasm', dataDir, describeTeacher: false }, () => {});
  const d = setup.data;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'train-x.f32'), new Uint8Array(d.trainX));
  writeFileSync(join(dir, 'train-y.i32'), new Uint8Array(d.trainY));
  writeFileSync(join(dir, 'test-x.f32'), new Uint8Array(d.testX));
  writeFileSync(join(dir, 'test-y.i32'), new Uint8Array(d.testY));
  // the cached logits file itself, as kdsearch's workers read it
  const logitsFile = teacherLogitsFile(dataDir, setup.teacherFingerprint, setup.datasetFingerprint);
  const file = existsSync(logitsFile) ? logitsFile : join(dir, 'logits.f32');
  if (file !== logitsFile) writeFileSync(file, new Uint8Array(d.logits!));
  writeFileSync(join(dir, 'meta.json'), JSON.stringify({ inputShape: d.inputShape, numClasses: d.numClasses, trainN: d.trainN, testN: d.testN, logitsFile: file }));
}

export async function runOptuna(opts: { task: Task & { seeds: number }; budgetSec: number; workers: number; out: string; dir: string; dataDir: string; log: (s: string) => void }): Promise<void> {
  const dataDir = join(opts.dir, 'reference-data');
  await exportData(opts.task, dataDir, opts.dataDir);
  const space = parsedSpace(opts.task);
  const spaceJson = join(opts.dir, 'restricted-space.json');
  writeFileSync(spaceJson, JSON.stringify(space));
  const runs = (): ArmRun[] => (existsSync(opts.out) ? (JSON.parse(readFileSync(opts.out, 'utf8')) as { runs: ArmRun[] }).runs : []);
  for (let seed = 0; seed < opts.task.seeds; seed++) {
    if (runs().some((r) => r.task === opts.task.name && r.arm === 'optuna-pytorch' && r.seed === seed && r.budgetSec === opts.budgetSec)) continue;
    const lines = join(opts.dir, `optuna-${seed}.jsonl`);
    const r = spawnSync(
      '/usr/bin/python3',
      [join(ROOT, 'bench', 'reference', 'optuna_search.py'), '--data', dataDir, '--space-json', spaceJson, '--helper', `${process.execPath} ${join(__dirname, 'reference', 'genes-helper.js')}`,
        '--budget', String(opts.budgetSec), '--workers', String(opts.workers), '--seed', String(seed), '--out', lines],
      { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    if (r.status !== 0) throw new Error(`optuna_search.py exited ${r.status}`);
    const info = JSON.parse(r.stdout.trim().split('\n').pop()!) as { startedAt: number; torch: string; optuna: string; blas: { kind: string; library: string } };
    const trials = readFileSync(lines, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { number: number; accuracy: number; sizeBytes: number; params: number; finishedAt: number });
    const done = trials.map((t) => ({ at: (t.finishedAt - info.startedAt) / 1000, t })).filter((x) => x.at <= opts.budgetSec).sort((a, b) => a.at - b.at);
    const seen: TrialRecord[] = [];
    const curve: Array<[number, number]> = [[0, 0]];
    for (const { at, t } of done) {
      seen.push({ number: t.number, hash: String(t.number), candidate: undefined as never, state: 'COMPLETE', metrics: { accuracy: t.accuracy, floatAccuracy: t.accuracy, params: t.params, macs: 0, sizeBytes: t.sizeBytes, latencyMs: 0, latencyP10Ms: 0, latencyP90Ms: 0 } });
      const hv = frontHypervolume(space, seen);
      if (hv !== curve[curve.length - 1][1]) curve.push([at, hv]);
    }
    const run: ArmRun & { reference: unknown } = {
      arm: 'optuna-pytorch',
      task: opts.task.name,
      seed,
      budgetSec: opts.budgetSec,
      fidelity: null,
      curve,
      finalHypervolume: curve[curve.length - 1][1],
      states: { COMPLETE: done.length },
      finishedAt: new Date().toISOString(),
      reference: { torch: info.torch, optuna: info.optuna, blas: info.blas },
    };
    opts.log(`restricted-optuna-pytorch-${seed}: hypervolume ${run.finalHypervolume.toFixed(5)} after ${opts.budgetSec} s; ${done.length} trials (torch ${info.torch} on ${info.blas.kind}: ${info.blas.library})`);
    writeFileSync(opts.out, `${JSON.stringify({ runs: [...runs(), run] }, null, 1)}\n`);
  }
}
