import { runTrial } from '../distill/trial';
import type { TrialResult } from '../distill/trial';
import type { LatencyRuntime, TrialMetrics } from '../core/metrics';
import type { StudentSpec } from '../space/student';
import type { CommonOptions } from '../runtime/prepare-run';
import { prepareRun } from '../runtime/prepare-run';
import { calibrateReferences } from '../model/latency-reference';
import type { TrainingConfig } from '../core/training';
import type { Log } from '../core/log';

/** What `distill --json` prints: the student's metrics (one definition, TrialMetrics) and their context. */
export interface DistillReport extends TrialMetrics {
  backend: string;
  dataset: string;
  student: StudentSpec;
  family: string;
  epochs: number;
  seconds: number;
  teacherAccuracy: number;
  teacherParams: number;
  teacherSource: string;
  training: TrainingConfig;
  curve: TrialResult['curve'];
  /** self-exits: each shallow exit, a student of its own (1-based: after block `exit`). */
  exits?: Array<TrialMetrics & { exit: number; student: StudentSpec }>;
}

/** `kdsearch distill`: one student, distilled and measured. */
export async function distillCommand(opts: CommonOptions & { spec: StudentSpec; training: TrainingConfig; latencyRuntime?: LatencyRuntime }, log: Log): Promise<DistillReport> {
  const ctx = await prepareRun(opts, log);
  log(`student: ${JSON.stringify(opts.spec)}`);
  // One student: its latency is placed between references calibrated now, as a search's are between the ones it stored.
  const latencyReferences = await calibrateReferences(opts.latencyRuntime ?? 'tfjs-wasm');
  const result = await runTrial({
    spec: opts.spec,
    training: opts.training,
    dataset: ctx.dataset,
    teacherLogits: ctx.logits,
    teacher: { spec: ctx.teacher.spec, topology: ctx.teacher.topology, ...(ctx.teacher.unmappable ? { unmappable: ctx.teacher.unmappable } : {}) },
    latencyRuntime: opts.latencyRuntime,
    latencyReferences,
    onEpoch: (r) =>
      log(
        `epoch ${r.epoch}/${opts.training.epochs}: loss ${r.loss.toFixed(4)} (kd ${r.kdLoss.toFixed(4)}, ce ${r.ceLoss.toFixed(4)}) test accuracy ${(r.valAccuracy * 100).toFixed(2)}% ${r.seconds.toFixed(1)} s`,
      ),
  });
  await ctx.teacher.dispose();
  return {
    backend: ctx.backend,
    dataset: ctx.dataset.source,
    student: opts.spec,
    family: result.family,
    ...result.metrics,
    epochs: result.curve.length,
    seconds: result.seconds,
    teacherAccuracy: ctx.teacher.accuracy,
    teacherParams: ctx.teacher.params,
    teacherSource: ctx.teacher.source,
    training: opts.training,
    curve: result.curve,
    ...(result.exits ? { exits: result.exits.map((x) => ({ exit: x.exit, student: x.spec, ...x.metrics })) } : {}),
  };
}

export function formatDistillReport(r: DistillReport): string {
  const pct = (v: number) => `${(v * 100).toFixed(2)}%`;
  return [
    `student (${r.family}) distilled on ${r.backend} in ${r.seconds.toFixed(1)} s, ${r.epochs} epochs`,
    `  accuracy    ${pct(r.accuracy)}${r.accuracy !== r.floatAccuracy ? ` (float32 before quantization: ${pct(r.floatAccuracy)})` : ''}   teacher ${pct(r.teacherAccuracy)}`,
    `  params      ${r.params}   teacher ${r.teacherParams} (${(r.teacherParams / r.params).toFixed(1)}x smaller)`,
    `  MACs        ${r.macs}`,
    `  size        ${r.sizeBytes} bytes at ${r.student.precision}`,
    `  latency     ${r.latencyMs.toFixed(3)} ms median (p10 ${r.latencyP10Ms.toFixed(3)}, p90 ${r.latencyP90Ms.toFixed(3)}), batch 1${r.latencyRuntime ? `, ${r.latencyRuntime}` : ''}${r.latencyFullSpeed === false ? ', timed in a slow spell of the machine' : ''}`,
    ...(r.exits ?? []).map((x) => `  exit ${x.exit} (after block ${x.exit}): ${pct(x.accuracy)}, ${x.params} params, ${x.sizeBytes} bytes, ${x.latencyMs.toFixed(3)} ms`),
  ].join('\n');
}
