import type { EpochRecord } from '../core/epoch';
import { errorCodeOf, formatIssues } from '../core/errors';
import type { TrialOutcome } from '../core/outcome';
import { runTrialLeg } from '../distill/trial';
import { initBackend } from '../model/backend';
import { packWeights } from '../model/weights-pack';
import { datasetView } from './shared-data';
import { trialTaskSchema } from './task';

/**
 * The worker's pure function (DESIGN.md rule 3): candidate + training
 * settings + shared data in, metrics + curve + packed weights out. Errors
 * come back as values with their code; only a crash of the thread itself
 * (memory limit, termination) rejects.
 */
export async function executeTask(raw: unknown, onEpoch?: (record: EpochRecord) => void): Promise<TrialOutcome> {
  const started = performance.now();
  const parsed = trialTaskSchema.safeParse(raw);
  if (!parsed.success) {
    return { ok: false, code: 'INTERNAL', message: `invalid trial task\n${formatIssues(parsed.error.issues)}` };
  }
  const task = parsed.data;
  let backend: string | undefined;
  try {
    backend = await initBackend(task.backend);
    const { dataset, logits } = datasetView(task.data);
    const { candidate } = task;
    const result = await runTrialLeg({
      spec: candidate.student,
      training: { ...candidate.training, seed: task.seed },
      dataset,
      teacherLogits: logits,
      teacher: task.teacher,
      latencyRuntime: task.latencyRuntime,
      latencyEffort: task.latencyEffort,
      latencyReferences: task.latencyReferences,
      fidelity: task.fidelity,
      screen: task.screen,
      // a pre-screen's one short epoch is its score, not a point of the trial's curve
      onEpoch: task.screen ? undefined : onEpoch,
    });
    if ('screened' in result) return { ok: true, screened: true, backend, accuracy: result.accuracy, kdLoss: result.kdLoss, seconds: result.seconds };
    if ('paused' in result) {
      const { family, epoch, metrics, curve, checkpoint, seconds } = result;
      return { ok: true, paused: true, backend, family, epoch, metrics, curve, checkpoint, seconds };
    }
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
      ...(result.exits ? { exits: result.exits.map(({ exit, metrics, layers, topology, weights }) => {
        const packed = packWeights(weights);
        return { exit, metrics, layers, topology, manifest: packed.manifest, weights: packed.buffer };
      }) } : {}),
      seconds: result.seconds,
    };
  } catch (err) {
    const code = errorCodeOf(err) ?? 'TRIAL_CRASHED';
    return { ok: false, code, message: (err as Error).message ?? String(err), backend, seconds: (performance.now() - started) / 1000 };
  }
}
