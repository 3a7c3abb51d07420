/**
 * The training schemes and quantization-aware training on one student, same
 * seeds and epochs, through the real CLI (two processes at a time):
 *   scratch (alpha 0), offline KD, online KD (DML), self-distillation;
 *   float32 vs int8 post-training vs int8 QAT.
 * Prints mean, sample standard deviation and the per-seed accuracies.
 *   npm run bench:schemes -- [--student FILE] [--seeds 0,1,2] [--epochs N] [--alpha 0.7] [--parallel 2] [--only scratch,offline]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { flag, mean, sampleStd } from './stats';

const ROOT = join(__dirname, '..', '..');
const cli = join(__dirname, '..', 'src', 'cli.js');
const studentFile = flag('student', 'examples/students/small-cnn.json');
const seeds = flag('seeds', '0,1,2').split(',').map(Number);
const epochs = flag('epochs', '');
const alpha = flag('alpha', '0.7');
const parallel = Number(flag('parallel', '2'));
const only = flag('only', '');

const spec = JSON.parse(readFileSync(join(ROOT, studentFile), 'utf8'));
const int8 = (qat: boolean) => JSON.stringify({ ...spec, precision: 'int8', quantization: 'per-channel', qat });
const VARIANTS: Record<string, string[]> = {
  scratch: ['--alpha', '0'],
  offline: ['--alpha', alpha, '--scheme', 'offline'],
  online: ['--alpha', alpha, '--scheme', 'online'],
  self: ['--alpha', alpha, '--scheme', 'self'],
  'offline-int8-ptq': ['--alpha', alpha, '--student', int8(false)],
  'offline-int8-qat': ['--alpha', alpha, '--student', int8(true)],
};

function distill(args: string[], seed: number): Promise<{ accuracy: number; floatAccuracy: number; peerAccuracy?: number; seconds: number }> {
  const all = [cli, 'distill', '--student', studentFile, ...args, '--seed', String(seed), '--json'];
  if (epochs) all.push('--epochs', epochs);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, all, { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`distill ${all.join(' ')} exited ${code}`))));
  });
}

async function main() {
  const names = only ? only.split(',') : Object.keys(VARIANTS);
  const jobs = names.flatMap((name) => seeds.map((seed) => ({ name, seed })));
  const results: Array<{ name: string; seed: number; accuracy: number; floatAccuracy: number; peerAccuracy?: number; seconds: number }> = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < jobs.length) {
        const job = jobs[next++];
        const r = await distill(VARIANTS[job.name], job.seed);
        results.push({ ...job, accuracy: r.accuracy, floatAccuracy: r.floatAccuracy, peerAccuracy: r.peerAccuracy, seconds: r.seconds });
        process.stderr.write(`${job.name} seed ${job.seed}: ${(r.accuracy * 100).toFixed(2)}% in ${r.seconds.toFixed(0)} s\n`);
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
  process.stdout.write(`${JSON.stringify({ student: studentFile, seeds, epochs: epochs || 'default', alpha: Number(alpha), results: table }, null, 2)}\n`);
}

void main();
