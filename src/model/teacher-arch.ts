import type { CnnSpec, ConcreteSpec, MlpSpec } from '../space/student';

/**
 * The built-in teacher: conv 32 - pool - conv 64 - pool - dense 128 - dropout.
 * 225k parameters on 28x28x1. Chosen by measuring accuracy against training
 * time on 2 cores (see README, "The teacher").
 */
export const BUILTIN_TEACHER_SPEC: CnnSpec = {
  kind: 'cnn',
  blocks: [
    { op: 'conv', filters: 32, kernel: 3, padding: 'valid', pool: true },
    { op: 'conv', filters: 64, kernel: 3, padding: 'valid', pool: true },
  ],
  dense: [128],
  dropout: 0.4,
  precision: 'float32',
  quantization: 'per-tensor',
  qat: false,
};

/**
 * The built-in teacher for flat (tabular) input: two hidden dense layers,
 * 256 and 128 units, with dropout. A CNN cannot read a feature vector.
 */
export const BUILTIN_MLP_TEACHER_SPEC: MlpSpec = {
  kind: 'mlp',
  hidden: [256, 128],
  dropout: 0.2,
  precision: 'float32',
  quantization: 'per-tensor',
  qat: false,
};

/** The built-in teacher that fits a dataset: the CNN for images ([height, width, channels]), the MLP for feature vectors. */
export function builtinTeacherSpec(inputShape: readonly number[]): ConcreteSpec {
  return inputShape.length === 3 ? BUILTIN_TEACHER_SPEC : BUILTIN_MLP_TEACHER_SPEC;
}

/** The spec of an experiment's teacher when it is the built-in one (born-again students are then measurable from their spec). */
export function builtinSpecOf(exp: { teacher: { source: string }; dataset?: { inputShape: number[] } }): ConcreteSpec | undefined {
  return exp.teacher.source === 'builtin' && exp.dataset ? builtinTeacherSpec(exp.dataset.inputShape) : undefined;
}
