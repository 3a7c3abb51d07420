/**
 * Sample efficiency of the controllers, and what rungs buy.
 *  (a) stand-in objective computed from the spec: hypervolume after N
 *      trials, mean and spread over many seeds, in seconds;
 *  (b) the real task (skip with --skip-real): search arms (full-fidelity
 *      NSGA-II, NSGA-II with rungs, random with rungs, NSGA-II with rungs and the pre-screen) under a fixed
 *      wall-clock budget, --real-seeds seeds on --real-space and
 *      --fashion-seeds on Fashion-MNIST; each finished run is appended to
 *      --out and skipped when the bench runs again; the summary (time to
 *      reach full fidelity's final hypervolume, as a fraction of the budget)
 *      is printed and the curves are plotted to --plot;
 *  (c) with --real-trials N, the controllers over N trials of the real task.
 *   npm run bench:search -- [--seeds 30] [--space search-spaces/mnist-full.yaml] [--skip-real]
 *     [--real-space search-spaces/mnist-quick.yaml] [--real-seeds 3] [--fashion-seeds 1] [--fashion-train-limit 10000]
 *     [--budget 300] [--workers 2] [--fidelity 1,4] [--arms nsga2-full,nsga2-rungs,random-rungs,nsga2-rungs-prescreen]
 *     [--optuna-seeds 3] [--restricted-arms nsga2-full] [--out bench/results/search-arms.json] [--plot bench/results/search-arms.png] [--real-trials N]
 *  (d) --optuna-seeds seeds of Optuna's NSGA-II with PyTorch (bench/reference/optuna_search.py) against
 *      kdsearch on the quick space restricted to what both do alike (task "restricted").
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ARMS, readRuns, runArms } from './search-arms';
import { restrictedTask, runOptuna } from './search-optuna';
import { summariseArms } from './search-summary';
import { plotHypervolume } from './search-plot';
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
const realSeeds = Number(flag('real-seeds', '3'));
const realTrials = Number(flag('real-trials', '0'));
const realSpace = flag('real-space', 'search-spaces/mnist-quick.yaml');
const fashionSeeds = Number(flag('fashion-seeds', '1'));
const fashionTrainLimit = Number(flag('fashion-train-limit', '10000'));
const budgetSec = Number(flag('budget', '300'));
const workers = Number(flag('workers', '2'));
const [minEpochs, eta] = flag('fidelity', '1,4').split(',').map(Number);
const armNames = flag('arms', 'nsga2-full,nsga2-rungs,random-rungs,nsga2-rungs-prescreen').split(',');
const optunaSeeds = Number(flag('optuna-seeds', '3'));
const restrictedArms = flag('restricted-arms', 'nsga2-full').split(',');
const out = resolve(ROOT, flag('out', 'bench/results/search-arms.json'));
const plot = resolve(ROOT, flag('plot', 'bench/results/search-arms.png'));

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

async function arms() {
  const chosen = armNames.map((n) => ARMS.find((a) => a.name === n) ?? fail(`--arms: unknown arm "${n}" (known: ${ARMS.map((a) => a.name).join(', ')})`));
  const tasks = [
    { name: 'quick', space: realSpace, seeds: realSeeds },
    {
      name: 'fashion',
      space: realSpace,
      seeds: fashionSeeds,
      // Fashion-MNIST's small students score 80 to 88%: a reference at the quick space's 90% would leave every front at hypervolume 0
      overrides: {
        dataset: 'idx:/usr/share/datasets/fashion-mnist',
        training: { ...quickTraining(), trainLimit: fashionTrainLimit },
        reference: { ...quickReference(), accuracy: 0.7 },
      },
    },
    { ...restrictedTask(realSpace, optunaSeeds), arms: restrictedArms },
  ].filter((t) => t.seeds > 0);
  mkdirSync(dirname(out), { recursive: true });
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const dataDir = join(ROOT, 'data');
  const runs = await runArms({ tasks, arms: chosen, budgetSec, workers, fidelity: { minEpochs, eta }, out, dataDir, log });
  if (optunaSeeds > 0) await runOptuna({ task: restrictedTask(realSpace, optunaSeeds), budgetSec, workers, out, dir: join(dirname(out), 'search-arms-runs'), dataDir, log });
  void runs;
  const summary = summariseArms(readRuns(out).filter((r) => r.budgetSec === budgetSec));
  await plotHypervolume({ panels: summary.panels, file: plot });
  return { budgetSec, fidelity: { minEpochs, eta }, results: out, plot, ...summary.table };
}

function quickTraining(): Record<string, unknown> {
  const { parse } = require('yaml') as typeof import('yaml');
  return (parse(readFileSync(join(ROOT, realSpace), 'utf8')) as { training: Record<string, unknown> }).training;
}

function quickReference(): Record<string, unknown> {
  const { parse } = require('yaml') as typeof import('yaml');
  return (parse(readFileSync(join(ROOT, realSpace), 'utf8')) as { reference: Record<string, unknown> }).reference;
}

function fail(message: string): never {
  throw new Error(message);
}

async function main() {
  const result: Record<string, unknown> = { standIn: standIn() };
  if (!process.argv.includes('--skip-real')) result.arms = await arms();
  if (realTrials > 0) result.real = real();
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

void main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
