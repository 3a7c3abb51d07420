/**
 * Latency you can trust: 12 students covering every family and precision,
 * each trained and timed inside a 2-worker search (the pool's quiet gate
 * on; and once with it off, for comparison and for what the gate costs in
 * throughput), and timed again alone in this process once the pool is gone,
 * 3 times in each setting. Prints JSON: per student the medians of each
 * setting and their coefficient of variation, the Spearman rank
 * correlation between in-search and alone (students whose alone 95%
 * intervals overlap count as ties: identical work, such as a float32
 * student and its int8 twin), and trials per minute with and without the
 * gate.
 *   npm run bench:latency -- [--rounds 3] [--train-limit 12000]
 */
import { join } from 'node:path';
import { loadDataset } from '../src/datasets/load';
import { loadTeacher, teacherLogits } from '../src/distill/teacher';
import { initBackend } from '../src/model/backend';
import { PiscinaExecutor } from '../src/runtime/piscina-executor';
import { shareData } from '../src/runtime/shared-data';
import { express } from '../src/space/candidate';
import type { Candidate, Genes } from '../src/space/candidate';
import { architectureSummary } from '../src/space/student';
import type { StorageSettings } from '../src/space/student';
import { DEFAULT_TRAINING } from '../src/core/training';
import { describeLatencyModel, fitLatencyModel, latencyFeatures } from '../src/search/latency-model';
import { legOutcome } from '../src/core/outcome';
import type { TrialSuccess } from '../src/core/outcome';
import { timeStoredAlone } from './alone';
import { calibrateReferences, describeCalibration, REFERENCE_NETWORKS } from '../src/model/latency-reference';
import { flag, mean, median, sampleStd, tiedSpearman } from './stats';

const ROOT = join(__dirname, '..', '..');
const f32: StorageSettings = { precision: 'float32', quantization: 'per-tensor', qat: false };
const int8: StorageSettings = { precision: 'int8', quantization: 'per-channel', qat: false };
const f16: StorageSettings = { precision: 'float16', quantization: 'per-tensor', qat: false };

/** Every family, and twins that differ only in how their weights are stored (identical work at inference). */
const STUDENTS: Array<[Genes, StorageSettings]> = [
  [{ family: 'mlp', units: [64] }, f32],
  [{ family: 'mlp', units: [256, 64] }, int8],
  [{ family: 'cnn', blocks: [{ filters: 8, kernel: 3 }, { filters: 16, kernel: 3 }], dense: 0 }, f32],
  [{ family: 'cnn', blocks: [{ filters: 8, kernel: 3 }, { filters: 16, kernel: 3 }], dense: 0 }, int8],
  [{ family: 'cnn', blocks: [{ filters: 32, kernel: 5 }, { filters: 32, kernel: 3 }], dense: 64 }, f16],
  [{ family: 'cnn', blocks: [{ filters: 16, kernel: 3 }, { filters: 32, kernel: 3 }], dense: 32, norm: true, pool: 'avg', head: 'gap' }, f32],
  [{ family: 'separable', blocks: [{ filters: 16, kernel: 3 }, { filters: 32, kernel: 3 }], dense: 0 }, f32],
  [{ family: 'separable', blocks: [{ filters: 16, kernel: 3 }, { filters: 32, kernel: 5 }, { filters: 64, kernel: 3 }], dense: 32 }, int8],
  [{ family: 'teacher-copy', depth: 0.5, width: 0.25 }, f32],
  [{ family: 'teacher-copy', depth: 1, width: 0.5 }, f32],
  [{ family: 'born-again' }, f32],
  [{ family: 'born-again' }, int8],
];

type Trained = TrialSuccess;

async function main() {
  const rounds = Number(flag('rounds', '3'));
  const trainLimit = Number(flag('train-limit', '12000'));
  const dataDir = join(ROOT, 'data');
  const log = (line: string) => process.stderr.write(`${line}\n`);
  await initBackend('wasm');
  const dataset = await loadDataset('mnist', { dataDir, log });
  const teacher = await loadTeacher({ dataset, dataDir, backend: 'wasm', log });
  const logits = await teacherLogits({ teacher, dataset, dataDir, log });
  const data = shareData(dataset, logits);
  const training = { ...DEFAULT_TRAINING, epochs: 1, trainLimit, scheme: 'offline' as const };
  const candidates: Candidate[] = STUDENTS.map(([genes, storage]) => ({ genes, student: express(genes, storage, teacher.spec), training }));
  const names = candidates.map((c) => `${c.genes.family}: ${architectureSummary(c.student)}`);
  // As a search does: calibrated once, before any worker runs; every measurement below is placed between them.
  const references = await calibrateReferences('tfjs-wasm');
  log(`latency references: ${describeCalibration(references)}`);

  /** One search's worth of trials on 2 workers; the latencies it stored and its wall time. */
  const searchRound = async (quietLatency: boolean) => {
    const executor = new PiscinaExecutor({ workers: 2, quietLatency });
    const signal = new AbortController().signal;
    const task = (i: number, c: Candidate) => ({ experiment: 'bench', trialNumber: i, candidate: c, seed: 0, backend: 'wasm' as const, data, teacher: { spec: teacher.spec, topology: {} }, latencyReferences: references });
    // Warm both workers (tfjs and wasm load) outside the timed part.
    await Promise.all([0, 1].map((i) => executor.run(task(i, { ...candidates[0], training: { ...training, trainLimit: 64 } }), { signal, onEpoch: () => {} })));
    const outcomes: Trained[] = new Array(candidates.length);
    const started = performance.now();
    let next = 0;
    await Promise.all(
      [0, 1].map(async () => {
        while (next < candidates.length) {
          const i = next++;
          const out = legOutcome(await executor.run(task(i, candidates[i]), { signal, onEpoch: () => {} }));
          if (!out.ok) throw new Error(`${names[i]}: ${out.message}`);
          if (out.paused) throw new Error(`${names[i]}: paused without rungs`);
          outcomes[i] = out;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    await executor.close();
    return { outcomes, seconds };
  };

  const gated: Array<Awaited<ReturnType<typeof searchRound>>> = [];
  const open: Array<Awaited<ReturnType<typeof searchRound>>> = [];
  for (let round = 0; round < rounds; round++) {
    // Alternating, so machine noise that drifts over the run falls on both.
    gated.push(await searchRound(true));
    log(`round ${round + 1}: in search, quiet gate on: ${gated.at(-1)!.seconds.toFixed(1)} s`);
    open.push(await searchRound(false));
    log(`round ${round + 1}: in search, quiet gate off: ${open.at(-1)!.seconds.toFixed(1)} s`);
  }

  // Alone: the first round's trained students, rebuilt here with their stored weights, timed one after another.
  const alone = await timeStoredAlone({
    stored: gated[0].outcomes.map((o) => ({ topology: o.topology, manifest: o.manifest, data: new Uint8Array(o.weights) })),
    inputShape: dataset.inputShape,
    rounds,
    references,
    onRound: (round) => log(`round ${round + 1}: alone done`),
  });

  const cv = (values: number[]) => sampleStd(values) / mean(values);
  const inSearch = candidates.map((_, i) => gated.map((r) => r.outcomes[i].metrics.latencyMs));
  const ungated = candidates.map((_, i) => open.map((r) => r.outcomes[i].metrics.latencyMs));
  const aloneMedian = alone.map((a) => mean(a.map((s) => s.median)));
  const aloneInterval = alone.map((a) => [mean(a.map((s) => s.lo)), mean(a.map((s) => s.hi))] as const);

  const rankCorrelation = (values: number[][]) => tiedSpearman(values.map((v) => mean(v)), aloneMedian, aloneInterval);
  const group = rankCorrelation(inSearch).groups;

  const students = candidates.map((c, i) => ({
    student: names[i],
    inSearchMs: inSearch[i],
    inSearchCv: cv(inSearch[i]),
    aloneMs: alone[i].map((s) => s.median),
    aloneCv: cv(alone[i].map((s) => s.median)),
    alone95: aloneInterval[i],
    tieGroup: group[i],
    gateOffMs: ungated[i],
    gateOffCv: cv(ungated[i]),
  }));
  const perMinute = (runs: Array<{ seconds: number }>) => (60 * candidates.length) / median(runs.map((r) => r.seconds));
  const summary = {
    maxCvInSearch: Math.max(...students.map((s) => s.inSearchCv)),
    maxCvAlone: Math.max(...students.map((s) => s.aloneCv)),
    spearmanInSearchVsAlone: rankCorrelation(inSearch).spearman,
    gateOff: { maxCvInSearch: Math.max(...students.map((s) => s.gateOffCv)), spearmanInSearchVsAlone: rankCorrelation(ungated).spearman },
    trialsPerMinute: { gateOn: perMinute(gated), gateOff: perMinute(open) },
    throughputCostOfGate: 1 - perMinute(gated) / perMinute(open),
    tieGroups: Math.max(...group) + 1,
  };
  // The latency model (search/latency-model.ts) on these 12 students' in-search medians, cross-validated.
  const spaceContext = { inputShape: dataset.inputShape, numClasses: dataset.numClasses, teacherSpec: teacher.spec, teacherParams: teacher.params, teacherMacs: teacher.macs };
  const latencyModel = fitLatencyModel(candidates.map((c, i) => ({ features: latencyFeatures(c, spaceContext)!, latencyMs: mean(inSearch[i]) })));
  const bar = { cvAtMost5Percent: summary.maxCvInSearch <= 0.05 && summary.maxCvAlone <= 0.05, spearmanAtLeast095: summary.spearmanInSearchVsAlone >= 0.95 };
  process.stdout.write(`${JSON.stringify({ rounds, trainLimit, workers: 2, references: { networks: REFERENCE_NETWORKS, calibratedMs: references }, students, summary, latencyModel: { ...latencyModel, line: describeLatencyModel(latencyModel) }, bar }, null, 2)}\n`);
}

void main();
