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
import { createRng } from '../src/core/rng';

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
  /** Instead of steps and seconds: step only in this schedule's active phases. */
  schedule?: PhaseSchedule;
}

/**
 * Alternating phases on a shared wall clock (ms since the epoch), for
 * measuring 1 against N trainers in interleaved slices of the same run:
 * a trainer steps only in its active phases and sleeps in the others.
 * Every phase begins with `pauseMs` in which every trainer sleeps, so every
 * phase starts alike for every trainer (woken from sleep, no step of the
 * previous phase still running): a kdsearch worker woken after seconds of
 * sleep steps slower for its first tens of ms on this VM (PyTorch's
 * processes show no such loss), and a phase that some trainers enter awake
 * and others from sleep would charge that to one count only.
 */
export interface PhaseSchedule {
  startAtMs: number;
  phaseMs: number;
  pauseMs: number;
  active: boolean[];
}

const epochMs = () => performance.timeOrigin + performance.now();
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const sleepUntil = (ms: number) => {
  const wait = ms - epochMs();
  if (wait > 0) Atomics.wait(sleeper, 0, 0, wait);
};

/** Before each step: true to take it, false to stop (steps are counted by the phase they start in). */
function phasedPace(schedule: PhaseSchedule, phaseSteps: number[]): () => boolean {
  const { startAtMs, phaseMs, pauseMs, active } = schedule;
  return () => {
    for (;;) {
      const sinceStart = epochMs() - startAtMs;
      const phase = Math.floor(sinceStart / phaseMs);
      if (phase >= active.length) return false;
      const intoPhase = sinceStart - phase * phaseMs;
      if (phase >= 0 && active[phase] && intoPhase >= pauseMs) {
        phaseSteps[phase]++;
        return true;
      }
      sleepUntil(startAtMs + phase * phaseMs + (intoPhase < pauseMs ? pauseMs : phaseMs + pauseMs));
    }
  };
}

export interface ThroughputResult {
  samplesPerSec: number;
  steps: number;
  /** Timed span, ms since the epoch. */
  startMs: number;
  endMs: number;
  /** With a schedule: steps started in each phase (startMs is then when warm-up ended). */
  phaseSteps?: number[];
}

/**
 * Samples per second over the timed steps, with its start and end; or, with
 * `schedule`, the steps of each phase.
 */
export async function trainingThroughput(opts: ThroughputOptions): Promise<ThroughputResult> {
  const model = buildModel(opts.spec, { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  const teacher = opts.liveTeacher ? buildModel(BUILTIN_TEACHER_SPEC, { inputShape: [28, 28, 1], numClasses: 10, seed: 2 }) : undefined;
  const optimizer = createAdam(0.001);
  const step = distillStep({ model, optimizer, data: opts.data, loss: { temperature: 4, alpha: 0.7 }, liveTeacher: teacher, seed: 1 });
  const rows = opts.data.x.shape[0];
  const run = async (more: (i: number) => boolean) => {
    let sums = tf.zeros([3]);
    let i = 0;
    for (; more(i); i++) {
      const start = (i * opts.batchSize) % (rows - opts.batchSize);
      const next = tf.tidy(() => tf.add(sums, step(tf.range(start, start + opts.batchSize, 1, 'int32') as tf.Tensor1D)));
      sums.dispose();
      sums = next;
    }
    await sums.data();
    sums.dispose();
    return i;
  };
  const forAtLeast = (n: number, seconds = 0) => {
    const until = performance.now() + seconds * 1000;
    return (i: number) => i < n || performance.now() < until;
  };
  try {
    await run(forAtLeast(opts.warmup, opts.warmupSeconds));
    const startMs = epochMs();
    let phaseSteps: number[] | undefined;
    let steps: number;
    if (opts.schedule) {
      phaseSteps = opts.schedule.active.map(() => 0);
      steps = await run(phasedPace(opts.schedule, phaseSteps));
    } else {
      steps = await run(forAtLeast(opts.steps, opts.seconds));
    }
    const endMs = epochMs();
    return { samplesPerSec: (steps * opts.batchSize * 1000) / (endMs - startMs), steps, startMs, endMs, ...(phaseSteps ? { phaseSteps } : {}) };
  } finally {
    optimizer.dispose();
    model.dispose();
    teacher?.dispose();
  }
}
