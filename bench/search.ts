/**
 * Sample efficiency of the controllers: hypervolume of the front after N
 * trials, mean and spread over seeds.
 *  (a) stand-in objective computed from the spec (many seeds in seconds);
 *  (b) the real task with a short budget, through the CLI (skip with --skip-real).
 *   npm run bench:search -- [--seeds 20] [--space search-spaces/mnist-full.yaml] [--real-seeds 2] [--real-trials 16] [--skip-real]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILTIN_TEACHER_SPEC } from '../src/model/teacher-arch';
import { CONTROLLER_NAMES, createController } from '../src/search/controllers';
import { hypervolumeCurve } from '../src/search/objectives';
import { simulateSearch } from '../src/search/simulate';
import { loadSearchSpace } from '../src/space/load';
import { flag, mean, sampleStd } from './stats';
import type { TrialRecord } from '../src/space/history';

const ROOT = join(__dirname, '..', '..');
const seeds = Number(flag('seeds', '30'));
const spaceFile = flag('space', 'search-spaces/mnist-full.yaml');
const checkpoints = flag('at', '20,40,80,160').split(',').map(Number);
const realSeeds = Number(flag('real-seeds', '2'));
const realTrials = Number(flag('real-trials', '16'));
const realSpace = flag('real-space', 'search-spaces/mnist-quick.yaml');

function summarise(values: number[]) {
  return { mean: mean(values), std: sampleStd(values), n: values.length };
}

function standIn() {
  const { space } = loadSearchSpace(join(ROOT, spaceFile));
  const ctx = { inputShape: [28, 28, 1], numClasses: 10, teacherSpec: BUILTIN_TEACHER_SPEC, teacherParams: 225034, teacherMacs: 0 };
  const trials = Math.max(...checkpoints);
  const out: Record<string, Record<string, ReturnType<typeof summarise>>> = {};
  for (const name of CONTROLLER_NAMES) {
    const atN: Record<number, number[]> = {};
    for (let seed = 0; seed < seeds; seed++) {
      const { hypervolumes } = simulateSearch({ space, ctx, controller: createController(name), seed, trials });
      for (const n of checkpoints) (atN[n] ??= []).push(hypervolumes[Math.min(n, hypervolumes.length) - 1]);
    }
    out[name] = Object.fromEntries(checkpoints.map((n) => [`N=${n}`, summarise(atN[n])]));
  }
  return { space: spaceFile, seeds, objective: 'stand-in (src/search/stand-in.ts)', hypervolume: out };
}

function real() {
  const cli = join(__dirname, '..', 'src', 'cli.js');
  const db = join(mkdtempSync(join(tmpdir(), 'kdsearch-bench-')), 'bench.db');
  const marks = checkpoints.filter((n) => n <= realTrials).concat(realTrials);
  const out: Record<string, Record<string, ReturnType<typeof summarise>>> = {};
  for (const name of CONTROLLER_NAMES) {
    const atN: Record<number, number[]> = {};
    for (let seed = 0; seed < realSeeds; seed++) {
      const expName = `bench-${name}-${seed}`;
      const r = spawnSync(process.execPath, [cli, 'search', '--space', realSpace, '--name', expName, '--controller', name, '--seed', String(seed), '--trials', String(realTrials), '--db', db, '--json'], {
        cwd: ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      if (r.status !== 0) throw new Error(`search ${expName} exited ${r.status}`);
      const report = JSON.parse(r.stdout) as { trials: Array<Pick<TrialRecord, 'number' | 'state'> & Record<string, number>> };
      void report;
      // Hypervolume after each trial, in trial order, recomputed from the store.
      const { Store } = require('../src/store/store') as typeof import('../src/store/store');
      const store = Store.open(db, { readonly: true });
      const exp = store.getExperiment(expName);
      const curve = hypervolumeCurve(exp.space, store.history(exp));
      store.close();
      for (const n of marks) (atN[n] ??= []).push(curve[Math.min(n, curve.length) - 1].hypervolume);
    }
    out[name] = Object.fromEntries(marks.map((n) => [`N=${n}`, summarise(atN[n])]));
  }
  return { space: realSpace, seeds: realSeeds, trials: realTrials, hypervolume: out };
}

const result: Record<string, unknown> = { standIn: standIn() };
if (!process.argv.includes('--skip-real')) result.real = real();
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
