/**
 * The training step every engine benchmark times: kdsearch's own distillStep
 * (KD loss, Adam, batches gathered from resident tensors, one read-back per
 * run as the training loop reads once per epoch) on a student family.
 */
import * as tf from '@tensorflow/tfjs';
import { createAdam } from '../src/distill/adam';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { distillStep } from '../src/distill/distill-step';
import type { ResidentData } from '../src/distill/distill-step';
import { buildModel } from '../src/model/build';
import { BUILTIN_TEACHER_SPEC } from '../src/model/teacher-arch';
import { parseStudentSpec } from '../src/space/student';
import type { ConcreteSpec } from '../src/space/student';
import { createRng } from '../src/util/rng';

export const ROOT = join(__dirname, '..', '..');

/** The student families of issue #7, by name, as example spec files. */
export const FAMILY_FILES: Record<string, string> = {
  mlp: 'examples/students/mlp.json',
  'small-cnn': 'examples/students/small-cnn.json',
  'separable-cnn': 'examples/students/separable-cnn.json',
};

export function familySpec(name: string): ConcreteSpec {
  const file = FAMILY_FILES[name];
  if (!file) throw new Error(`unknown family "${name}"; known: ${Object.keys(FAMILY_FILES).join(', ')}`);
  return parseStudentSpec(JSON.parse(readFileSync(join(ROOT, file), 'utf8')), file) as ConcreteSpec;
}

/**
 * Uniform [0, 1) images, random labels and normal "teacher" logits, as the
 * PyTorch reference makes them: the step's cost does not depend on values.
 */
export function syntheticData(rows: number, seed = 1): ResidentData & { teacherLogits: tf.Tensor2D } {
  const rng = createRng('bench-data', seed);
  const x = Float32Array.from({ length: rows * 784 }, () => rng.next());
  const y = Int32Array.from({ length: rows }, () => rng.int(10));
  const logits = Float32Array.from({ length: rows * 10 }, () => rng.normal());
  return { x: tf.tensor4d(x, [rows, 28, 28, 1]), y: tf.tensor1d(y, 'int32'), teacherLogits: tf.tensor2d(logits, [rows, 10]) };
}

export interface ThroughputOptions {
  spec: ConcreteSpec;
  data: ResidentData & { teacherLogits: tf.Tensor2D };
  /** Timed steps; or, with `seconds`, at least this many. */
  steps: number;
  /** Keep stepping until this much wall time has passed (short runs are noise). */
  seconds?: number;
  warmup: number;
  /** Warm-up wall time (V8 keeps optimizing the step's JS for ~2 s, on other cores). */
  warmupSeconds?: number;
  batchSize: number;
  /** Run this teacher on every batch instead of reading cached logits. */
  liveTeacher?: boolean;
  /** Called between warm-up and the timed steps (a start barrier across workers). */
  beforeTimed?: () => void;
}

/** Samples per second over the timed steps, with its start and end (ms since the epoch). */
export async function trainingThroughput(opts: ThroughputOptions): Promise<{ samplesPerSec: number; steps: number; startMs: number; endMs: number }> {
  const model = buildModel(opts.spec, { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  const teacher = opts.liveTeacher ? buildModel(BUILTIN_TEACHER_SPEC, { inputShape: [28, 28, 1], numClasses: 10, seed: 2 }) : undefined;
  const optimizer = createAdam(0.001);
  const step = distillStep({ model, optimizer, data: opts.data, loss: { temperature: 4, alpha: 0.7 }, liveTeacher: teacher, seed: 1 });
  const rows = opts.data.x.shape[0];
  const run = async (n: number, seconds = 0) => {
    let sums = tf.zeros([3]);
    const until = performance.now() + seconds * 1000;
    let i = 0;
    for (; i < n || performance.now() < until; i++) {
      const start = (i * opts.batchSize) % (rows - opts.batchSize);
      const next = tf.tidy(() => tf.add(sums, step(tf.range(start, start + opts.batchSize, 1, 'int32') as tf.Tensor1D)));
      sums.dispose();
      sums = next;
    }
    await sums.data();
    sums.dispose();
    return i;
  };
  try {
    await run(opts.warmup, opts.warmupSeconds);
    opts.beforeTimed?.();
    const startMs = performance.timeOrigin + performance.now();
    const steps = await run(opts.steps, opts.seconds);
    const endMs = performance.timeOrigin + performance.now();
    return { samplesPerSec: (steps * opts.batchSize * 1000) / (endMs - startMs), steps, startMs, endMs };
  } finally {
    optimizer.dispose();
    model.dispose();
    teacher?.dispose();
  }
}
