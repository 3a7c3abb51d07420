/**
 * Where a training step's time goes: per-kernel wall time (tf.profile) for
 * one student family on one backend, over a few steps, largest first.
 * Kernels that kdsearch composes from other kernels (some of its wasm
 * gradient kernels) include their children, so the column sums to more than
 * the step. `--by shape` splits each kernel by its input shapes.
 *   npm run bench:profile -- [--family small-cnn] [--backend wasm] [--steps 10] [--by kernel|shape]
 */
import * as tf from '@tensorflow/tfjs';
import { createAdam } from '../src/distill/adam';
import { distillStep } from '../src/distill/distill-step';
import { initBackend } from '../src/model/backend';
import type { BackendName } from '../src/model/backend';
import { buildModel } from '../src/model/build';
import { flag } from './stats';
import { familySpec, syntheticData } from './training-throughput';

async function main() {
  const family = flag('family', 'small-cnn');
  const backend = flag('backend', 'wasm') as BackendName;
  const steps = Number(flag('steps', '10'));
  const batchSize = Number(flag('batch', '64'));
  const byShape = flag('by', 'kernel') === 'shape';
  await initBackend(backend);
  const rows = 1024;
  const data = syntheticData(rows);
  const model = buildModel(familySpec(family), { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  const optimizer = createAdam(0.001);
  const step = distillStep({ model, optimizer, data, loss: { temperature: 4, alpha: 0.7 }, seed: 1 });
  const runSteps = (count: number) => {
    for (let i = 0; i < count; i++) {
      const start = (i * batchSize) % (rows - batchSize);
      tf.tidy(() => step(tf.range(start, start + batchSize, 1, 'int32') as tf.Tensor1D));
    }
  };
  runSteps(3);
  const t0 = performance.now();
  runSteps(steps);
  const stepMs = (performance.now() - t0) / steps;
  const profile = await tf.profile(() => runSteps(steps));
  const byKernel = new Map<string, { ms: number; calls: number }>();
  for (const k of profile.kernels) {
    const key = byShape ? `${k.name} ${JSON.stringify(k.inputShapes)}` : k.name;
    const entry = byKernel.get(key) ?? { ms: 0, calls: 0 };
    entry.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    entry.calls += 1;
    byKernel.set(key, entry);
  }
  const kernels = [...byKernel.entries()]
    .map(([kernel, e]) => ({ kernel, msPerStep: +(e.ms / steps).toFixed(3), callsPerStep: e.calls / steps }))
    .sort((a, b) => b.msPerStep - a.msPerStep);
  process.stdout.write(`${JSON.stringify({ family, backend, batchSize, steps, stepMs: +stepMs.toFixed(2), samplesPerSec: Math.round((batchSize * 1000) / stepMs), kernels }, null, 1)}\n`);
}

void main();
