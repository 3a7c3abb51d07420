/**
 * KD training throughput (samples/s) of three student families, with cached
 * teacher logits and with the teacher run every step, on every backend that
 * loads. Rounds alternate between configurations so machine noise spreads
 * evenly; medians are reported.
 *   npm run bench:train -- [--rounds 3] [--steps 40] [--backends wasm,cpu,node]
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/model/backend';
import type { BackendName } from '../src/model/backend';
import { flag, median } from './stats';
import { FAMILY_FILES, familySpec, syntheticData, trainingThroughput } from './training-throughput';

const rounds = Number(flag('rounds', '3'));
const steps = Number(flag('steps', '40'));
const batchSize = Number(flag('batch', '64'));
const backends = flag('backends', 'node,wasm,cpu').split(',') as BackendName[];

async function main() {
  const families = Object.keys(FAMILY_FILES);
  const results: Record<string, unknown> = {};
  for (const backend of backends) {
    try {
      await initBackend(backend);
    } catch (err) {
      results[backend] = { unavailable: (err as Error).message.split('\n').slice(1).join(' ').trim() };
      continue;
    }
    const data = syntheticData(2048);
    // The pure-JS cpu backend is ~20x slower: fewer steps keep the bench short.
    const n = backend === 'cpu' ? Math.max(3, Math.round(steps / 10)) : steps;
    const samples: Record<string, number[]> = {};
    for (let r = 0; r < rounds; r++) {
      for (const name of families) {
        for (const mode of ['cached', 'teacher'] as const) {
          const { samplesPerSec } = await trainingThroughput({ spec: familySpec(name), data, steps: n, warmup: 3, batchSize, liveTeacher: mode === 'teacher' });
          (samples[`${name}/${mode}`] ??= []).push(samplesPerSec);
        }
      }
    }
    tf.dispose([data.x, data.y, data.teacherLogits]);
    results[backend] = Object.fromEntries(
      Object.entries(samples).map(([key, values]) => [key, { samplesPerSec: Math.round(median(values)), runs: values.map(Math.round) }]),
    );
    process.stderr.write(`${backend}: done\n`);
  }
  process.stdout.write(`${JSON.stringify({ batchSize, steps, rounds, results }, null, 2)}\n`);
}

void main();
