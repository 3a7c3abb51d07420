import { z } from 'zod';
import { KdError } from '../core/errors';
import { canonicalJson, sha256 } from '../core/hash';
import { FAMILY_NAMES } from './schema';
import type { FamilyName } from './schema';
import { trainingSettingsSchema } from '../core/training';
import { studentSpecSchema } from './student';
import type { ConcreteSpec, StorageSettings, StudentSpec } from './student';

/** The per-family choices a candidate was made from (what mutation and crossover change). */
export const genesSchema = z.discriminatedUnion('family', [
  z.object({ family: z.literal('mlp'), units: z.array(z.number().int().positive()) }),
  z.object({
    family: z.enum(['cnn', 'separable']),
    blocks: z.array(z.object({ filters: z.number().int().positive(), kernel: z.number().int().positive() })),
    dense: z.number().int().min(0),
    /** Network-wide layer choices, absent when at their defaults (no norm, max pooling, a flatten). */
    norm: z.boolean().optional(),
    pool: z.enum(['max', 'avg']).optional(),
    head: z.enum(['flatten', 'gap']).optional(),
  }),
  z.object({ family: z.literal('teacher-copy'), depth: z.number().positive(), width: z.number().positive() }),
  z.object({ family: z.literal('born-again') }),
]);

export type Genes = z.infer<typeof genesSchema>;

/** A sampled, not yet trained student: its architecture and how to train it. */
export const candidateSchema = z.object({
  genes: genesSchema,
  student: studentSpecSchema,
  training: trainingSettingsSchema,
});
export type Candidate = z.infer<typeof candidateSchema>;

export function familyOf(c: Candidate): FamilyName {
  return c.genes.family;
}

/**
 * The candidate's identity: its phenotype (the student it builds and how it
 * is trained), canonically encoded. Two gene sets that build the same
 * student get the same hash, so the same student is never trained twice.
 */
export function candidateKey(c: Candidate): string {
  return canonicalJson({ student: c.student, training: c.training });
}

export function candidateHash(c: Candidate): string {
  return sha256(candidateKey(c)).slice(0, 16);
}

/** Expresses genes as a student spec; teacher-copy needs the built-in teacher's spec. */
export function express(
  genes: Genes,
  common: StorageSettings,
  teacherSpec: ConcreteSpec | undefined,
): StudentSpec {
  switch (genes.family) {
    case 'mlp':
      return { kind: 'mlp', hidden: genes.units, dropout: 0, ...common };
    case 'cnn':
    case 'separable':
      return {
        kind: 'cnn',
        blocks: genes.blocks.map((b, i) => ({
          // The separable family keeps a plain conv stem: a depthwise filter over one input channel learns little.
          op: genes.family === 'separable' && i > 0 ? 'sepconv' : 'conv',
          filters: b.filters,
          kernel: b.kernel,
          padding: 'same',
          pool: genes.pool === 'avg' ? 'avg' : true,
          ...(genes.norm ? { norm: true } : {}),
        })),
        ...(genes.head === 'gap' ? { head: 'gap' } : {}),
        dense: genes.dense > 0 ? [genes.dense] : [],
        ...(genes.norm && genes.dense > 0 ? { denseNorm: true } : {}),
        dropout: 0,
        ...common,
      };
    case 'teacher-copy': {
      if (!teacherSpec) {
        throw new KdError(
          'SPACE_INVALID',
          "the teacher-copy family copies the teacher's layers, and this teacher's do not map to kdsearch's (conv / separable conv with an optional batch norm and relu, 2x2 max or average pool, global average pool, dense, dropout); use the other families",
        );
      }
      const scale = (n: number) => Math.max(1, Math.round(n * genes.width));
      if (teacherSpec.kind === 'mlp') {
        // An MLP teacher's blocks are its hidden layers: keep a prefix, thinner.
        const kept = Math.round(teacherSpec.hidden.length * genes.depth);
        const hidden = teacherSpec.hidden.slice(0, kept).map(scale);
        return { kind: 'mlp', hidden, ...(teacherSpec.denseNorm && hidden.length ? { denseNorm: true } : {}), dropout: 0, ...common };
      }
      const keep = Math.max(1, Math.round(teacherSpec.blocks.length * genes.depth));
      return {
        kind: 'cnn',
        // Blocks keep their batch norm and pooling, the head its kind, dense layers their norm.
        blocks: teacherSpec.blocks.slice(0, keep).map((b) => ({ ...b, filters: scale(b.filters) })),
        ...(teacherSpec.head ? { head: teacherSpec.head } : {}),
        dense: teacherSpec.dense.map(scale),
        ...(teacherSpec.denseNorm && teacherSpec.dense.length ? { denseNorm: true } : {}),
        dropout: 0,
        ...common,
      };
    }
    case 'born-again':
      return { kind: 'teacher', ...common };
  }
}

export { FAMILY_NAMES };
