import { KdError } from '../core/errors';
import { distillationGain } from '../core/metrics';
import type { Log } from '../core/log';
import { PiscinaExecutor } from '../runtime/piscina-executor';
import { checkFingerprints, setUpTrials } from '../runtime/prepare-run';
import { runTasks } from '../runtime/run-tasks';
import { frontOf } from '../search/objectives';
import { Store } from '../store/store';
import type { BackendChoice } from '../core/backends';

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
      const setup = await setUpTrials({ space: exp.space, backend: opts.backend, dataDir: opts.dataDir, describeTeacher: false }, log);
      checkFingerprints(exp, setup);
      executor = new PiscinaExecutor({ workers: opts.workers });
      log(`training ${todo.length} from-scratch twins on ${executor.concurrency} workers`);
      const byNumber = new Map(todo.map((t) => [t.number, t]));
      await runTasks({
        executor,
        signal: new AbortController().signal,
        tasks: todo.map((trial) => ({
          experiment: exp.name,
          trialNumber: trial.number,
          candidate: { ...trial.candidate, training: { ...trial.candidate.training, alpha: 0, scheme: 'offline' as const } },
          seed: exp.seed,
          backend: opts.backend,
          data: setup.data,
          teacher: setup.teacher,
        })),
        onOutcome: (task, out) => {
          if (!out.ok) throw new KdError(out.code, `twin of trial ${task.trialNumber}: ${out.message}`);
          store.recordBaseline(exp, task.trialNumber, { accuracy: out.metrics.accuracy, floatAccuracy: out.metrics.floatAccuracy, seconds: out.seconds, backend: out.backend });
          const trial = byNumber.get(task.trialNumber)!;
          log(`trial ${task.trialNumber}: ${(trial.metrics!.accuracy * 100).toFixed(2)}% with distillation, ${(out.metrics.accuracy * 100).toFixed(2)}% from scratch`);
        },
      });
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
        gain: distillationGain(t.metrics!.accuracy, b.accuracy),
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
