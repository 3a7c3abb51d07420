import { KdError } from '../core/errors';
import { measureSpec, storedBytes } from './measure';
import type { Rng } from '../core/rng';
import type { TrainingSettings } from '../core/training';
import type { Candidate, Genes } from './candidate';
import { express } from './candidate';
import { settleExitsScheme } from './exits';
import { CONV_STYLE_DEFAULTS, FAMILY_NAMES, options } from './schema';
import type { ConvStyleKey, FamilyName, SearchSpace } from './schema';
import type { SizeEstimate } from '../core/metrics';
import type { Precision } from '../core/precision';
import type { ConcreteSpec, StorageSettings } from './student';

/** What sampling needs to know besides the space: the data's shape and the teacher. */
export interface SpaceContext {
  inputShape: number[];
  numClasses: number;
  /** The built-in teacher's spec (teacher-copy, born-again sizes). */
  teacherSpec?: ConcreteSpec;
  /** The teacher's size, for born-again students of a teacher from disk. */
  teacherParams: number;
  teacherMacs: number;
}

export function enabledFamilies(space: SearchSpace): FamilyName[] {
  return FAMILY_NAMES.filter((f) => space.families[f] !== undefined);
}

/** One uniformly random draw of a family's choices. */
export function sampleGenes(space: SearchSpace, family: FamilyName, rng: Rng): Genes {
  const f = space.families;
  switch (family) {
    case 'mlp': {
      const depth = rng.pick(options(f.mlp!.depth));
      return { family, units: Array.from({ length: depth }, () => rng.pick(options(f.mlp!.units))) };
    }
    case 'cnn':
    case 'separable': {
      const conv = f[family]!;
      const depth = rng.pick(options(conv.depth));
      const genes: Genes = {
        family,
        blocks: Array.from({ length: depth }, () => ({ filters: rng.pick(options(conv.filters)), kernel: rng.pick(options(conv.kernel)) })),
        dense: rng.pick(options(conv.dense)),
      };
      // Drawn only when there is a choice, so spaces without one sample as they always have.
      for (const key of Object.keys(CONV_STYLE_DEFAULTS) as ConvStyleKey[]) {
        const values: unknown[] = options(conv[key]);
        const value = values.length > 1 ? rng.pick(values) : values[0];
        if (value !== CONV_STYLE_DEFAULTS[key]) Object.assign(genes, { [key]: value });
      }
      return genes;
    }
    case 'teacher-copy':
      return { family, depth: rng.pick(options(f['teacher-copy']!.depth)), width: rng.pick(options(f['teacher-copy']!.width)) };
    case 'born-again':
      return { family };
  }
}

export function sampleTraining(space: SearchSpace, rng: Rng): TrainingSettings {
  const t: TrainingSettings = {
    epochs: rng.pick(options(space.training.epochs)),
    batchSize: rng.pick(options(space.training.batchSize)),
    learningRate: rng.pick(options(space.training.learningRate)),
    temperature: rng.pick(options(space.distillation.temperature)),
    alpha: rng.pick(options(space.distillation.alpha)),
    scheme: rng.pick(options(space.scheme)),
  };
  if (space.training.trainLimit !== undefined) t.trainLimit = space.training.trainLimit;
  return withExitsSettings(space, t, rng);
}

/** Training settings that are self-exits get the space's exit settings where they have none (a hint drawn from its choices). */
export function withExitsSettings(space: SearchSpace, training: TrainingSettings, rng: Rng): TrainingSettings {
  if (training.scheme !== 'self-exits') return training;
  return {
    ...training,
    hint: training.hint ?? rng.pick(options(space.exits.hint)),
    exitsTeacher: space.exits.teacher,
    exitHead: training.exitHead ?? rng.pick(options(space.exits.head)),
  };
}

export function sampleCommon(space: SearchSpace, rng: Rng): StorageSettings {
  const precision = rng.pick(options(space.precision)) as Precision;
  const quantization = rng.pick(options(space.quantization));
  // QAT means nothing for float32 weights: keep one encoding so the hash dedupes.
  const qat = precision === 'float32' ? false : rng.pick(options(space.qat));
  return { precision, quantization, qat };
}

/** Builds a candidate from genes and settings; the student spec follows from the genes. */
export function makeCandidate(
  genes: Genes,
  common: StorageSettings,
  training: TrainingSettings,
  ctx: SpaceContext,
): Candidate {
  const student = express(genes, common, ctx.teacherSpec);
  return { genes, student, training: settleExitsScheme(student, training) };
}

/** One uniformly random candidate: a family, then each of its choices. */
export function sampleCandidate(space: SearchSpace, ctx: SpaceContext, rng: Rng): Candidate {
  const family = rng.pick(enabledFamilies(space));
  return makeCandidate(sampleGenes(space, family, rng), sampleCommon(space, rng), sampleTraining(space, rng), ctx);
}

/** params, MACs and sizeBytes of a candidate from its spec alone, before any training. */
export function estimateSize(c: Candidate, ctx: SpaceContext): SizeEstimate {
  const spec = c.student.kind === 'teacher' ? ctx.teacherSpec && { ...ctx.teacherSpec, precision: c.student.precision, quantization: c.student.quantization, qat: c.student.qat } : c.student;
  if (!spec) {
    // A teacher from disk: its size is known, its per-tensor layout is not; count bytes as one tensor.
    return {
      params: ctx.teacherParams,
      macs: ctx.teacherMacs,
      sizeBytes: storedBytes([{ size: ctx.teacherParams, channels: 1 }], c.student.precision, 'per-tensor'),
    };
  }
  const m = measureSpec(spec, ctx.inputShape, ctx.numClasses);
  return { params: m.params, macs: m.macs, sizeBytes: storedBytes(m.weightTensors, spec.precision, spec.quantization) };
}

/** Why a candidate breaks the space's size constraints (or does not fit the input), or undefined. */
export function violation(space: SearchSpace, c: Candidate, ctx: SpaceContext): string | undefined {
  let size: SizeEstimate;
  try {
    size = estimateSize(c, ctx);
  } catch (err) {
    if (err instanceof KdError) return err.message;
    throw err;
  }
  const k = space.constraints;
  if (k.maxParams !== undefined && size.params > k.maxParams) return `params ${size.params} > maxParams ${k.maxParams}`;
  if (k.maxMacs !== undefined && size.macs > k.maxMacs) return `MACs ${size.macs} > maxMacs ${k.maxMacs}`;
  if (k.maxSizeBytes !== undefined && size.sizeBytes > k.maxSizeBytes) return `sizeBytes ${size.sizeBytes} > maxSizeBytes ${k.maxSizeBytes}`;
  return undefined;
}
