/**
 * KD training throughput (samples/s) of three student families, with cached
 * teacher logits and with the teacher run every step, on every backend that
 * loads. Rounds alternate between configurations so machine noise spreads
 * evenly; medians are reported.
 *   npm run bench:train -- [--rounds 3] [--steps 40] [--backends wasm,cpu,node]
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadEmbeddedMnist } from '../src/datasets/mnist-embedded';
import { distillStep } from '../src/distill/distill-step';
import { toResident } from '../src/distill/resident';
import { initBackend } from '../src/model/backend';
import type { BackendName } from '../src/model/backend';
import { buildModel } from '../src/model/build';
import { BUILTIN_TEACHER_SPEC } from '../src/model/teacher-arch';
import { parseStudentSpec } from '../src/space/student';
import type { ConcreteSpec } from '../src/space/student';
import { flag, median } from './stats';

const ROOT = join(__dirname, '..', '..');
const FAMILIES = {
  mlp: 'examples/students/mlp.json',
  'small-cnn': 'examples/students/small-cnn.json',
  'separable-cnn': 'examples/students/separable-cnn.json',
};
const rounds = Number(flag('rounds', '3'));
const steps = Number(flag('steps', '40'));
const batchSize = Number(flag('batch', '64'));
const backends = flag('backends', 'node,wasm,cpu').split(',') as BackendName[];

async function throughput(opts: { spec: ConcreteSpec; mode: 'cached' | 'teacher'; steps: number; data: ReturnType<typeof toResident> & { logits: tf.Tensor2D } }) {
  const model = buildModel(opts.spec, { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  const teacher = opts.mode === 'teacher' ? buildModel(BUILTIN_TEACHER_SPEC, { inputShape: [28, 28, 1], numClasses: 10, seed: 2 }) : undefined;
  const optimizer = tf.train.adam(0.001);
  const step = distillStep({
    model,
    optimizer,
    data: { x: opts.data.x, y: opts.data.y, teacherLogits: opts.data.logits },
    loss: { temperature: 4, alpha: 0.7 },
    liveTeacher: teacher,
    seed: 1,
  });
  const run = async (n: number) => {
    let sums = tf.zeros([3]);
    for (let i = 0; i < n; i++) {
      const start = (i * batchSize) % (opts.data.x.shape[0] - batchSize);
      const next = tf.tidy(() => tf.add(sums, step(tf.range(start, start + batchSize, 1, 'int32') as tf.Tensor1D)));
      sums.dispose();
      sums = next;
    }
    await sums.data(); // the same once-per-epoch read-back the training loop does
    sums.dispose();
  };
  await run(3); // warm-up: kernel setup, optimizer slots
  const t0 = performance.now();
  await run(opts.steps);
  const seconds = (performance.now() - t0) / 1000;
  optimizer.dispose();
  model.dispose();
  teacher?.dispose();
  return (opts.steps * batchSize) / seconds;
}

async function main() {
  const dataset = loadEmbeddedMnist({ dataDir: join(ROOT, 'data') });
  const specs = Object.fromEntries(
    Object.entries(FAMILIES).map(([name, file]) => [name, parseStudentSpec(JSON.parse(readFileSync(join(ROOT, file), 'utf8')), file) as ConcreteSpec]),
  );
  const results: Record<string, unknown> = {};
  for (const backend of backends) {
    try {
      await initBackend(backend);
    } catch (err) {
      results[backend] = { unavailable: (err as Error).message.split('\n').slice(1).join(' ').trim() };
      continue;
    }
    const data = { ...toResident({ x: dataset.train.x.subarray(0, 2048 * 784), y: dataset.train.y.subarray(0, 2048), n: 2048 }, [28, 28, 1]), logits: tf.randomNormal([2048, 10]) as tf.Tensor2D };
    // The pure-JS cpu backend is ~20x slower: fewer steps keep the bench short.
    const n = backend === 'cpu' ? Math.max(3, Math.round(steps / 10)) : steps;
    const samples: Record<string, number[]> = {};
    for (let r = 0; r < rounds; r++) {
      for (const [name, spec] of Object.entries(specs)) {
        for (const mode of ['cached', 'teacher'] as const) {
          (samples[`${name}/${mode}`] ??= []).push(await throughput({ spec, mode, steps: n, data }));
        }
      }
    }
    tf.dispose([data.x, data.y, data.logits]);
    results[backend] = Object.fromEntries(
      Object.entries(samples).map(([key, values]) => [key, { samplesPerSec: Math.round(median(values)), runs: values.map(Math.round) }]),
    );
    process.stderr.write(`${backend}: done\n`);
  }
  process.stdout.write(`${JSON.stringify({ batchSize, steps, rounds, results }, null, 2)}\n`);
}

void main();
