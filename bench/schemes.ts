/**
 * The training schemes and quantization-aware training on one student, same
 * seeds and epochs, through the real CLI (two processes at a time):
 *   scratch (alpha 0), offline KD, online KD (DML), self-distillation;
 *   float32 vs int8 post-training vs int8 QAT.
 *   self-exits (Be Your Own Teacher): every exit of the student, against the
 *   same truncated network (exitSpec: the first blocks and the exit's head)
 *   trained from scratch and distilled offline from the teacher.
 * Prints mean, sample standard deviation and the per-seed accuracies.
 *   npm run bench:schemes -- [--student FILE] [--seeds 0,1,2] [--epochs N] [--alpha 0.7] [--parallel 2]
 *     [--only scratch,offline,online,self,offline-int8-ptq,offline-int8-qat,self-exits,exits-scratch,exits-offline]
 *     [--dataset idx:/usr/share/datasets/fashion-mnist] [--train-limit N] [--hint 0.03] [--exit-head flatten|gap] [--exits-teacher]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exitSpec, shallowExits } from '../src/space/exits';
import { parseStudentSpec } from '../src/space/student';
import type { CnnSpec } from '../src/space/student';
import type { ExitHead } from '../src/core/training';
import { flag, mean, sampleStd } from './stats';

const ROOT = join(__dirname, '..', '..');
const cli = join(__dirname, '..', 'src', 'cli.js');
const studentFile = flag('student', 'examples/students/small-cnn.json');
const seeds = flag('seeds', '0,1,2').split(',').map(Number);
const epochs = flag('epochs', '');
const alpha = flag('alpha', '0.7');
const parallel = Number(flag('parallel', '2'));
const only = flag('only', '');
const dataset = flag('dataset', '');
const trainLimit = flag('train-limit', '');
const hint = flag('hint', '0.03');
const exitHead = flag('exit-head', 'flatten') as ExitHead;
const exitsTeacher = process.argv.includes('--exits-teacher');

const spec = JSON.parse(readFileSync(join(ROOT, studentFile), 'utf8'));
const parsed = parseStudentSpec(spec, studentFile);
const exits = shallowExits(parsed);
/** The network cut after block k with exit k's head: what self-exits' exit k is, trained alone. */
const truncated = (k: number) => JSON.stringify(exitSpec(parsed as CnnSpec, k, exitHead));
const int8 = (qat: boolean) => JSON.stringify({ ...spec, precision: 'int8', quantization: 'per-channel', qat });
const VARIANTS: Record<string, string[]> = {
  scratch: ['--alpha', '0'],
  offline: ['--alpha', alpha, '--scheme', 'offline'],
  online: ['--alpha', alpha, '--scheme', 'online'],
  self: ['--alpha', alpha, '--scheme', 'self'],
  'offline-int8-ptq': ['--alpha', alpha, '--student', int8(false)],
  'offline-int8-qat': ['--alpha', alpha, '--student', int8(true)],
  'self-exits': ['--alpha', alpha, '--scheme', 'self-exits', '--hint', hint, '--exit-head', exitHead, ...(exitsTeacher ? ['--exits-teacher'] : [])],
  ...Object.fromEntries(exits.flatMap((k) => [[`exit-${k}-scratch`, ['--alpha', '0', '--student', truncated(k)]], [`exit-${k}-offline`, ['--alpha', alpha, '--student', truncated(k)]]])),
};
/** --only names a family of variants: exits-scratch and exits-offline stand for every exit's. */
const expand = (name: string) => (name === 'exits-scratch' || name === 'exits-offline' ? exits.map((k) => `exit-${k}-${name.slice(6)}`) : [name]);

interface Run {
  accuracy: number;
  floatAccuracy: number;
  peerAccuracy?: number;
  seconds: number;
  exits?: Array<{ exit: number; accuracy: number; params: number; sizeBytes: number; latencyMs: number }>;
}

function distill(args: string[], seed: number): Promise<Run> {
  const all = [cli, 'distill', '--student', studentFile, ...args, '--seed', String(seed), '--json'];
  if (epochs) all.push('--epochs', epochs);
  if (dataset) all.push('--dataset', dataset);
  if (trainLimit) all.push('--train-limit', trainLimit);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, all, { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`distill ${all.join(' ')} exited ${code}`))));
  });
}

async function main() {
  const names = only ? only.split(',').flatMap(expand) : Object.keys(VARIANTS);
  for (const name of names) if (!VARIANTS[name]) throw new Error(`--only: no variant "${name}" (${Object.keys(VARIANTS).join(', ')}, exits-scratch, exits-offline)`);
  const jobs = names.flatMap((name) => seeds.map((seed) => ({ name, seed })));
  const results: Array<{ name: string; seed: number } & Run> = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < jobs.length) {
        const job = jobs[next++];
        const r = await distill(VARIANTS[job.name], job.seed);
        results.push({ ...job, accuracy: r.accuracy, floatAccuracy: r.floatAccuracy, peerAccuracy: r.peerAccuracy, seconds: r.seconds, exits: r.exits });
        const exitsLine = (r.exits ?? []).map((x) => `, exit ${x.exit} ${(x.accuracy * 100).toFixed(2)}%`).join('');
        process.stderr.write(`${job.name} seed ${job.seed}: ${(r.accuracy * 100).toFixed(2)}%${exitsLine} in ${r.seconds.toFixed(0)} s\n`);
      }
    }),
  );
  const table = Object.fromEntries(
    names.map((name) => {
      const rs = results.filter((r) => r.name === name).sort((a, b) => a.seed - b.seed);
      const acc = rs.map((r) => r.accuracy);
      const peers = rs.map((r) => r.peerAccuracy).filter((v): v is number => v !== undefined);
      return [
        name,
        {
          mean: mean(acc),
          std: sampleStd(acc),
          accuracies: acc,
          floatAccuracies: rs.map((r) => r.floatAccuracy),
          ...(peers.length ? { peerMean: mean(peers) } : {}),
          secondsMean: mean(rs.map((r) => r.seconds)),
        },
      ];
    }),
  );
  // self-exits' every exit beside the same truncated network trained alone, from scratch and offline
  const summary = (acc: number[]) => (acc.length ? { mean: mean(acc), std: sampleStd(acc), accuracies: acc } : undefined);
  const bySeed = (name: string) => results.filter((r) => r.name === name).sort((a, b) => a.seed - b.seed);
  const selfRuns = bySeed('self-exits');
  const exitRows = selfRuns.length
    ? exits.map((k) => ({
        exit: k,
        student: JSON.parse(truncated(k)),
        params: selfRuns[0].exits?.find((x) => x.exit === k)?.params,
        selfExits: summary(selfRuns.map((r) => r.exits!.find((x) => x.exit === k)!.accuracy)),
        scratch: summary(bySeed(`exit-${k}-scratch`).map((r) => r.accuracy)),
        offline: summary(bySeed(`exit-${k}-offline`).map((r) => r.accuracy)),
      }))
    : undefined;
  const settings = { student: studentFile, dataset: dataset || 'mnist', trainLimit: trainLimit || 'none', seeds, epochs: epochs || 'default', alpha: Number(alpha) };
  const exitSettings = selfRuns.length ? { hint: Number(hint), exitHead, exitsTeacher } : {};
  process.stdout.write(`${JSON.stringify({ ...settings, ...exitSettings, results: table, ...(exitRows ? { exits: exitRows } : {}) }, null, 2)}\n`);
}

void main();
