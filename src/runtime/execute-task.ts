import type { MessagePort } from 'node:worker_threads';
import { runTrial } from '../distill/trial';
import { errorCodeOf, formatIssues } from '../errors';
import { initBackend } from '../model/backend';
import { packWeights } from '../model/weights-pack';
import { datasetView } from './shared-data';
import { trialTaskSchema } from './task';
import type { TrialOutcome } from './task';

/**
 * The worker's pure function (DESIGN.md rule 3): candidate + training
 * settings + shared data in, metrics + curve + packed weights out. Errors
 * come back as values with their code; only a crash of the thread itself
 * (memory limit, termination) rejects.
 */
export async function executeTask(raw: unknown): Promise<TrialOutcome> {
  const started = performance.now();
  const parsed = trialTaskSchema.safeParse(raw);
  if (!parsed.success) {
    return { ok: false, code: 'INTERNAL', message: `invalid trial task\n${formatIssues(parsed.error.issues)}` };
  }
  const task = parsed.data;
  const port = task.progress as MessagePort | undefined;
  let backend: string | undefined;
  try {
    if (task.inject === 'throw') throw new Error('injected failure');
    if (task.inject === 'hang') await new Promise(() => {});
    if (task.inject === 'oom') {
      const hog: number[][] = [];
      for (;;) hog.push(new Array(1e6).fill(Math.random()));
    }
    backend = await initBackend(task.backend);
    const { dataset, logits } = datasetView(task.data);
    const { candidate } = task;
    const result = await runTrial({
      spec: candidate.student,
      training: { ...candidate.training, seed: task.seed },
      dataset,
      teacherLogits: logits,
      teacher: { spec: task.teacher.spec, topology: task.teacher.topology },
      onEpoch: (record) => port?.postMessage(record),
    });
    const { manifest, buffer } = packWeights(result.weights);
    return {
      ok: true,
      backend,
      family: result.family,
      metrics: result.metrics,
      curve: result.curve,
      layers: result.layers,
      topology: result.topology,
      manifest,
      weights: buffer,
      seconds: result.seconds,
    };
  } catch (err) {
    const code = errorCodeOf(err) ?? 'TRIAL_CRASHED';
    return { ok: false, code, message: (err as Error).message ?? String(err), backend, seconds: (performance.now() - started) / 1000 };
  } finally {
    port?.close();
  }
}
