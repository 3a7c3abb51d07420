/**
 * What distillation buys one student: the same student, seeds and epochs
 * trained with KD (alpha > 0) and from scratch (alpha = 0), through the real
 * CLI, two processes at a time. Prints JSON.
 *   npm run bench:kdgain -- [--student FILE] [--seeds 0,1,2] [--alphas 0.7,0] [--epochs N] [--parallel 2]
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { flag, mean, sampleStd } from './stats';

const cli = join(__dirname, '..', 'src', 'cli.js');
const student = flag('student', 'examples/students/small-cnn.json');
const seeds = flag('seeds', '0,1,2').split(',').map(Number);
const alphas = flag('alphas', '0.7,0').split(',').map(Number);
const epochs = flag('epochs', '');
const parallel = Number(flag('parallel', '2'));

function distill(alpha: number, seed: number): Promise<{ accuracy: number; seconds: number }> {
  const args = [cli, 'distill', '--student', student, '--alpha', String(alpha), '--seed', String(seed), '--json'];
  if (epochs) args.push('--epochs', epochs);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`distill exited ${code}`))));
  });
}

async function main() {
  const jobs = alphas.flatMap((alpha) => seeds.map((seed) => ({ alpha, seed })));
  const results: Array<{ alpha: number; seed: number; accuracy: number; seconds: number }> = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < jobs.length) {
        const job = jobs[next++];
        const r = await distill(job.alpha, job.seed);
        results.push({ ...job, accuracy: r.accuracy, seconds: r.seconds });
      }
    }),
  );
  const byAlpha = alphas.map((alpha) => {
    const accs = results.filter((r) => r.alpha === alpha).sort((a, b) => a.seed - b.seed);
    return { alpha, accuracies: accs.map((r) => r.accuracy), mean: mean(accs.map((r) => r.accuracy)), std: sampleStd(accs.map((r) => r.accuracy)) };
  });
  process.stdout.write(`${JSON.stringify({ student, seeds, epochs: epochs || 'default', byAlpha }, null, 2)}\n`);
}

void main();
