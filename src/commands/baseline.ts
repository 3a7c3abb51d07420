import type { Log } from '../distill/teacher';
import { KdError } from '../errors';
import type { BackendChoice } from '../model/backend';
import { PiscinaExecutor } from '../runtime/piscina-executor';
import { shareData } from '../runtime/shared-data';
import { frontOf } from '../search/objectives';
import { Store } from '../store/store';
import { prepareRun } from './context';

export interface BaselineRow {
  number: number;
  family: string;
  scheme: string;
  accuracy: number;
  scratchAccuracy: number;
  gain: number;
}

/**
 * `kdsearch baseline NAME`: trains the from-scratch twin (alpha = 0, the
 * offline loop, same seed and epochs) of every front member that has none
 * yet, stores it beside the trial, and reports the distillation gain.
 */
export async function baselineCommand(opts: { db: string; name: string; dataDir: string; backend: BackendChoice; workers?: number }, log: Log): Promise<BaselineRow[]> {
  const store = Store.open(opts.db);
  let executor: PiscinaExecutor | undefined;
  try {
    const exp = store.getExperiment(opts.name);
    const front = frontOf(exp.space, store.history(exp));
    if (front.length === 0) throw new KdError('EXPERIMENT_CONFLICT', `experiment "${exp.name}" has no complete trials yet`);
    const done = store.baselines(exp);
    const todo = front.filter((t) => !done.has(t.number));
    if (todo.length) {
      const ctx = await prepareRun({ dataset: exp.space.dataset, backend: opts.backend, dataDir: opts.dataDir, teacher: exp.space.teacher === 'builtin' ? undefined : exp.space.teacher }, log);
      if (ctx.dataset.fingerprint !== exp.datasetFingerprint) throw new KdError('EXPERIMENT_CONFLICT', `the dataset of experiment "${exp.name}" changed since it ran`);
      const data = shareData(ctx.dataset, ctx.logits);
      const teacher = { spec: ctx.teacher.spec, topology: ctx.teacher.topology as Record<string, unknown> };
      ctx.teacher.model.dispose();
      executor = new PiscinaExecutor({ workers: opts.workers });
      const signal = new AbortController().signal;
      log(`training ${todo.length} from-scratch twins on ${executor.concurrency} workers`);
      let next = 0;
      await Promise.all(
        Array.from({ length: executor.concurrency }, async () => {
          while (next < todo.length) {
            const trial = todo[next++];
            const twin = { ...trial.candidate, training: { ...trial.candidate.training, alpha: 0, scheme: 'offline' as const } };
            const out = await executor!.run({ experiment: exp.name, trialNumber: trial.number, candidate: twin, seed: exp.seed, backend: opts.backend, data, teacher }, { signal, onEpoch: () => {} });
            if (!out.ok) throw new KdError(out.code, `twin of trial ${trial.number}: ${out.message}`);
            store.recordBaseline(exp, trial.number, { accuracy: out.metrics.accuracy, floatAccuracy: out.metrics.floatAccuracy, seconds: out.seconds, backend: out.backend });
            log(`trial ${trial.number}: ${(trial.metrics!.accuracy * 100).toFixed(2)}% with distillation, ${(out.metrics.accuracy * 100).toFixed(2)}% from scratch`);
          }
        }),
      );
    }
    const all = store.baselines(exp);
    return front.map((t) => {
      const b = all.get(t.number)!;
      return {
        number: t.number,
        family: t.candidate.genes.family,
        scheme: t.candidate.training.scheme,
        accuracy: t.metrics!.accuracy,
        scratchAccuracy: b.accuracy,
        gain: t.metrics!.accuracy - b.accuracy,
      };
    });
  } finally {
    await executor?.close();
    store.close();
  }
}

export function formatBaselines(rows: BaselineRow[]): string {
  const lines = ['  trial  family        scheme   with KD   from scratch   gain (points)'];
  for (const r of rows) {
    lines.push(
      `  ${String(r.number).padStart(5)}  ${r.family.padEnd(12)}  ${r.scheme.padEnd(7)} ${(r.accuracy * 100).toFixed(2).padStart(7)}%  ${(r.scratchAccuracy * 100).toFixed(2).padStart(11)}%   ${(r.gain * 100 >= 0 ? '+' : '') + (r.gain * 100).toFixed(2)}`,
    );
  }
  return lines.join('\n');
}
