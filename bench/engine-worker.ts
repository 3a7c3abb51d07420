/**
 * bench:engine's Piscina task: times kdsearch's training step in a worker
 * thread, as a trial runs; with a schedule, only in this worker's phases
 * of a wall clock shared with the other workers.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/model/backend';
import type { BackendName } from '../src/model/backend';
import { familySpec, syntheticData, trainingThroughput } from './training-throughput';
import type { PhaseSchedule, ThroughputResult } from './training-throughput';

export interface EngineTask {
  family: string;
  backend: BackendName;
  steps: number;
  seconds: number;
  warmup: number;
  warmupSeconds: number;
  batchSize: number;
  /** Step only in this worker's active phases. */
  schedule?: PhaseSchedule;
}

let data: ReturnType<typeof syntheticData> | undefined;

export default async function run(task: EngineTask): Promise<ThroughputResult & { backend: string }> {
  await initBackend(task.backend);
  data ??= syntheticData(2048);
  const before = tf.memory().numTensors;
  const result = await trainingThroughput({
    spec: familySpec(task.family),
    data,
    steps: task.steps,
    seconds: task.seconds,
    warmup: task.warmup,
    warmupSeconds: task.warmupSeconds,
    batchSize: task.batchSize,
    schedule: task.schedule,
  });
  const leaked = tf.memory().numTensors - before;
  if (leaked !== 0) throw new Error(`the training step leaked ${leaked} tensors`);
  return { ...result, backend: tf.getBackend() };
}
