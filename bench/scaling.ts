/**
 * Trial throughput of the worker pool: the same fixed list of candidates
 * from the quick space, run with 1 worker and with 2 (or --workers LIST),
 * alternating over rounds; reports trials/minute (median) and the ratio.
 *   npm run bench:scaling -- [--space search-spaces/mnist-quick.yaml] [--trials 16] [--rounds 2] [--workers 1,2] [--epochs 1]
 */
import { join } from 'node:path';
import { loadDataset } from '../src/datasets/load';
import { loadTeacher, teacherLogits } from '../src/distill/teacher';
import { initBackend } from '../src/model/backend';
import { PiscinaExecutor } from '../src/runtime/piscina-executor';
import { shareData } from '../src/runtime/shared-data';
import { createController } from '../src/search/controllers';
import { simulateSearch } from '../src/search/simulate';
import { loadSearchSpace } from '../src/space/load';
import { estimateSize } from '../src/space/sample';
import { flag, median } from './stats';

const ROOT = join(__dirname, '..', '..');

async function main() {
  const spaceFile = flag('space', 'search-spaces/mnist-quick.yaml');
  const count = Number(flag('trials', '16'));
  const rounds = Number(flag('rounds', '2'));
  const workerCounts = flag('workers', '1,2').split(',').map(Number);
  const epochs = Number(flag('epochs', '1'));
  const { space } = loadSearchSpace(join(ROOT, spaceFile));
  const dataDir = join(ROOT, 'data');
  const log = (line: string) => process.stderr.write(`${line}\n`);
  await initBackend('wasm');
  const dataset = await loadDataset(space.dataset, { dataDir, log });
  const teacher = await loadTeacher({ dataset, dataDir, backend: 'wasm', log });
  const logits = await teacherLogits({ teacher, dataset, dataDir, log });
  const ctx = { inputShape: dataset.inputShape, numClasses: dataset.numClasses, teacherSpec: teacher.spec, teacherParams: teacher.params, teacherMacs: teacher.macs };
  // A fixed, seeded list of candidates: the same work for every pool size.
  // Longest first (by MACs), so the pool's tail is short and the ratio measures throughput, not scheduling luck.
  const candidates = simulateSearch({ space, ctx, controller: createController('random'), seed: 11, trials: count })
    .history.map((t) => ({ ...t.candidate, training: { ...t.candidate.training, epochs, scheme: 'offline' as const } }))
    .sort((a, b) => estimateSize(b, ctx).macs - estimateSize(a, ctx).macs);
  const data = shareData(dataset, logits);
  const times: Record<string, number[]> = {};
  for (let round = 0; round < rounds; round++) {
    for (const workers of workerCounts) {
      const key = `${workers}w`;
      const executor = new PiscinaExecutor({ workers });
      const signal = new AbortController().signal;
      // Warm the workers (tfjs + wasm load) outside the timed part.
      await Promise.all(
        Array.from({ length: workers }, (_, i) =>
          executor.run(
            { experiment: 'warm', trialNumber: i, candidate: { ...candidates[0], training: { ...candidates[0].training, trainLimit: 64 } }, seed: 0, backend: 'wasm', data, teacher: { spec: teacher.spec, topology: {} } },
            { signal, onEpoch: () => {} },
          ),
        ),
      );
      const started = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: workers }, async () => {
          while (next < candidates.length) {
            const i = next++;
            const out = await executor.run(
              { experiment: 'bench', trialNumber: i, candidate: candidates[i], seed: 0, backend: 'wasm', data, teacher: { spec: teacher.spec, topology: {} } },
              { signal, onEpoch: () => {} },
            );
            if (!out.ok) throw new Error(`trial ${i}: ${out.message}`);
          }
        }),
      );
      (times[key] ??= []).push((performance.now() - started) / 1000);
      await executor.close();
      log(`round ${round + 1}: ${key} ${times[key].at(-1)!.toFixed(1)} s`);
    }
  }
  const perMinute = Object.fromEntries(Object.keys(times).map((k) => [k, (60 * candidates.length) / median(times[k])]));
  const first = Object.keys(times)[0];
  process.stdout.write(
    `${JSON.stringify(
      {
        space: spaceFile,
        trials: candidates.length,
        epochsPerTrial: epochs,
        rounds,
        secondsPerRun: times,
        trialsPerMinute: perMinute,
        speedupOver: first,
        speedup: Object.fromEntries(Object.keys(times).map((k) => [k, perMinute[k] / perMinute[first]])),
      },
      null,
      2,
    )}\n`,
  );
}

void main();
