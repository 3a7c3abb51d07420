/**
 * bench:engine's Piscina task: times kdsearch's training step in a worker
 * thread, as a trial runs. Workers of one measurement wait at a shared
 * barrier after their warm-up, so the timed steps overlap; or follow a
 * schedule of phases on the wall clock.
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
  /** Int32Array(1) over a SharedArrayBuffer: workers still warming up. */
  barrier?: SharedArrayBuffer;
  /** Step only in this worker's active phases (the barrier is then not needed). */
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
    beforeTimed: () => {
      if (!task.barrier) return;
      const waiting = new Int32Array(task.barrier);
      if (Atomics.sub(waiting, 0, 1) === 1) Atomics.notify(waiting, 0);
      else while (Atomics.load(waiting, 0) > 0) Atomics.wait(waiting, 0, Atomics.load(waiting, 0), 1000);
    },
  });
  const leaked = tf.memory().numTensors - before;
  if (leaked !== 0) throw new Error(`the training step leaked ${leaked} tensors`);
  return { ...result, backend: tf.getBackend() };
}
