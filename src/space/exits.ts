import type { CnnSpec, StudentSpec } from './student';
import type { ExitHead, TrainingSettings } from '../core/training';
import { KdError } from '../core/errors';

/**
 * The exits of a self-exits student: one after each block but the last (the
 * last block's exit is the student's own head). Only cnn specs with at least
 * two blocks have any: the cnn, separable and teacher-copy families; an MLP
 * or a born-again copy of a teacher has none.
 */
export function shallowExits(spec: StudentSpec): number[] {
  if (spec.kind !== 'cnn' || spec.blocks.length < 2) return [];
  return Array.from({ length: spec.blocks.length - 1 }, (_, i) => i + 1);
}

/**
 * The standalone student of exit k (1-based: after block k): the first k
 * blocks, then the exit's head: the block's output flattened (or globally
 * averaged) and one dense layer, the classifier. Everything else
 * (precision, quantization) is the student's.
 */
export function exitSpec(spec: CnnSpec, exit: number, head: ExitHead = 'flatten'): CnnSpec {
  const { head: _head, denseNorm: _norm, ...rest } = spec;
  return { ...rest, blocks: spec.blocks.slice(0, exit), ...(head === 'gap' ? { head } : {}), dense: [], dropout: 0 };
}

/**
 * A candidate's training settings made consistent with its student: a
 * student with no shallow exit trains offline (its only exit is its own
 * head, which is what offline trains), and the self-exits settings (hint,
 * exitsTeacher) exist only under self-exits, so equal students hash equal.
 */
export function settleExitsScheme(spec: StudentSpec, training: TrainingSettings): TrainingSettings {
  if (training.scheme === 'self-exits' && shallowExits(spec).length > 0) return training;
  const { hint: _hint, exitsTeacher: _teacher, exitHead: _head, ...rest } = training;
  return training.scheme === 'self-exits' ? { ...rest, scheme: 'offline' } : rest;
}

/** The student of a candidate's exit k, as its trial trained it; asking for an exit the student has not is a bug, not a fallback. */
export function exitStudentOf(c: { student: StudentSpec; training: TrainingSettings }, exit: number): CnnSpec {
  if (c.student.kind !== 'cnn' || !shallowExits(c.student).includes(exit)) {
    throw new KdError('INTERNAL', `exit ${exit} asked of a ${c.student.kind} student whose shallow exits are [${shallowExits(c.student).join(', ')}]`);
  }
  return exitSpec(c.student, exit, c.training.exitHead);
}
