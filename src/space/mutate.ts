import type { Rng } from '../core/rng';
import type { TrainingSettings } from '../core/training';
import type { Candidate, Genes } from './candidate';
import { enabledFamilies, makeCandidate, sampleGenes, withExitsSettings } from './sample';
import type { SpaceContext } from './sample';
import { CONV_STYLE_DEFAULTS, options } from './schema';
import type { ConvStyleKey, SearchSpace } from './schema';
import type { Precision } from '../core/precision';
import type { StorageSettings } from './student';

/** A different value from the list when there is one. */
function another<T>(values: readonly T[], current: T, rng: Rng): T {
  const others = values.filter((v) => v !== current);
  return others.length ? rng.pick(others) : current;
}

/**
 * A neighbouring value in a numeric list (one step up or down in sorted
 * order): small moves keep a good parent's child close to it.
 */
function neighbour(values: readonly number[], current: number, rng: Rng): number {
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  if (sorted.length < 2) return current;
  let i = sorted.indexOf(current);
  if (i < 0) i = sorted.reduce((best, v, k) => (Math.abs(v - current) < Math.abs(sorted[best] - current) ? k : best), 0);
  const steps = [i - 1, i + 1].filter((k) => k >= 0 && k < sorted.length);
  return sorted[rng.pick(steps)];
}

type Mutator = (c: Candidate) => Candidate;

function commonOf(c: Candidate): StorageSettings {
  return { precision: c.student.precision, quantization: c.student.quantization, qat: c.student.qat };
}

function withTraining(ctx: SpaceContext, c: Candidate, change: Partial<TrainingSettings>): Candidate {
  return makeCandidate(c.genes, commonOf(c), { ...c.training, ...change }, ctx);
}

function withGenes(ctx: SpaceContext, c: Candidate, genes: Genes): Candidate {
  return makeCandidate(genes, commonOf(c), c.training, ctx);
}

/** Every single-step change the space allows for this candidate. */
function mutators(space: SearchSpace, ctx: SpaceContext, rng: Rng, c: Candidate): Mutator[] {
  const list: Mutator[] = [];
  const g = c.genes;
  const f = space.families;
  if (g.family === 'mlp') {
    const fam = f.mlp!;
    if (options(fam.depth).length > 1) {
      list.push(() => {
        const depth = neighbour(options(fam.depth), g.units.length, rng);
        const units = Array.from({ length: depth }, (_, i) => g.units[i] ?? rng.pick(g.units));
        return withGenes(ctx, c, { ...g, units });
      });
    }
    if (options(fam.units).length > 1) {
      list.push(() => {
        const i = rng.int(g.units.length);
        const units = g.units.map((u, j) => (j === i ? neighbour(options(fam.units), u, rng) : u));
        return withGenes(ctx, c, { ...g, units });
      });
    }
  } else if (g.family === 'cnn' || g.family === 'separable') {
    const fam = f[g.family]!;
    if (options(fam.depth).length > 1) {
      list.push(() => {
        const depth = neighbour(options(fam.depth), g.blocks.length, rng);
        const blocks = Array.from({ length: depth }, (_, i) => g.blocks[i] ?? { ...rng.pick(g.blocks) });
        return withGenes(ctx, c, { ...g, blocks });
      });
    }
    for (const key of ['filters', 'kernel'] as const) {
      if (options(fam[key]).length > 1) {
        list.push(() => {
          const i = rng.int(g.blocks.length);
          const blocks = g.blocks.map((b, j) => (j === i ? { ...b, [key]: neighbour(options(fam[key]), b[key], rng) } : b));
          return withGenes(ctx, c, { ...g, blocks });
        });
      }
    }
    if (options(fam.dense).length > 1) list.push(() => withGenes(ctx, c, { ...g, dense: neighbour(options(fam.dense), g.dense, rng) }));
    for (const key of Object.keys(CONV_STYLE_DEFAULTS) as ConvStyleKey[]) {
      const values: unknown[] = options(fam[key]);
      const current = g[key] ?? CONV_STYLE_DEFAULTS[key];
      const others = values.filter((v) => v !== current);
      if (values.length > 1 && others.length) {
        list.push(() => {
          const value = rng.pick(others);
          return withGenes(ctx, c, { ...g, [key]: value === CONV_STYLE_DEFAULTS[key] ? undefined : value });
        });
      }
    }
  } else if (g.family === 'teacher-copy') {
    const fam = f['teacher-copy']!;
    for (const key of ['depth', 'width'] as const) {
      if (options(fam[key]).length > 1) list.push(() => withGenes(ctx, c, { ...g, [key]: neighbour(options(fam[key]), g[key], rng) }));
    }
  }
  const families = enabledFamilies(space);
  if (families.length > 1) {
    list.push(() => withGenes(ctx, c, sampleGenes(space, another(families, g.family, rng), rng)));
  }
  if (options(space.precision).length > 1) {
    list.push(() => {
      const precision = another(options(space.precision), c.student.precision, rng);
      return makeCandidate(c.genes, { ...commonOf(c), precision, qat: precision === 'float32' ? false : c.student.qat }, c.training, ctx);
    });
  }
  if (options(space.quantization).length > 1) {
    list.push(() => makeCandidate(c.genes, { ...commonOf(c), quantization: another(options(space.quantization), c.student.quantization, rng) }, c.training, ctx));
  }
  if (options(space.qat).length > 1 && c.student.precision !== 'float32') {
    list.push(() => makeCandidate(c.genes, { ...commonOf(c), qat: !c.student.qat }, c.training, ctx));
  }
  if (options(space.scheme).length > 1) {
    list.push(() => makeCandidate(c.genes, commonOf(c), withExitsSettings(space, { ...c.training, scheme: another(options(space.scheme), c.training.scheme, rng) }, rng), ctx));
  }
  if (c.training.scheme === 'self-exits' && options(space.exits.hint).length > 1) {
    list.push(() => withTraining(ctx, c, { hint: neighbour(options(space.exits.hint), c.training.hint ?? 0, rng) }));
  }
  const trainingChoices: Array<['epochs' | 'batchSize' | 'learningRate' | 'temperature' | 'alpha', readonly number[]]> = [
    ['epochs', options(space.training.epochs)],
    ['batchSize', options(space.training.batchSize)],
    ['learningRate', options(space.training.learningRate)],
    ['temperature', options(space.distillation.temperature)],
    ['alpha', options(space.distillation.alpha)],
  ];
  for (const [key, values] of trainingChoices) {
    if (values.length > 1) list.push(() => withTraining(ctx, c, { [key]: neighbour(values, c.training[key] as number, rng) }));
  }
  return list;
}

/** One random single-step change (regularized evolution mutates exactly once per child). */
export function mutate(space: SearchSpace, ctx: SpaceContext, parent: Candidate, rng: Rng): Candidate {
  const list = mutators(space, ctx, rng, parent);
  if (list.length === 0) return parent;
  return rng.pick(list)(parent);
}

/**
 * Uniform crossover. Parents of one family mix gene by gene (a block list
 * takes its length from one parent and each block from either); parents of
 * different families give the child one parent's architecture. Training and
 * precision settings always mix uniformly.
 */
export function crossover(space: SearchSpace, ctx: SpaceContext, a: Candidate, b: Candidate, rng: Rng): Candidate {
  const coin = <T>(x: T, y: T): T => (rng.next() < 0.5 ? x : y);
  let genes: Genes;
  const ga = a.genes;
  const gb = b.genes;
  if (ga.family === 'mlp' && gb.family === 'mlp') {
    const len = coin(ga.units.length, gb.units.length);
    genes = { family: 'mlp', units: Array.from({ length: len }, (_, i) => coin(ga.units[i] ?? gb.units[i], gb.units[i] ?? ga.units[i])) };
  } else if ((ga.family === 'cnn' || ga.family === 'separable') && gb.family === ga.family) {
    const len = coin(ga.blocks.length, gb.blocks.length);
    genes = {
      family: ga.family,
      blocks: Array.from({ length: len }, (_, i) => ({ ...coin(ga.blocks[i] ?? gb.blocks[i], gb.blocks[i] ?? ga.blocks[i]) })),
      dense: coin(ga.dense, gb.dense),
    };
    // A coin only where the parents differ: parents without these choices cross as they always have.
    for (const key of Object.keys(CONV_STYLE_DEFAULTS) as ConvStyleKey[]) {
      const value = ga[key] === gb[key] ? ga[key] : coin(ga[key], gb[key]);
      if (value !== undefined) Object.assign(genes, { [key]: value });
    }
  } else if (ga.family === 'teacher-copy' && gb.family === 'teacher-copy') {
    genes = { family: 'teacher-copy', depth: coin(ga.depth, gb.depth), width: coin(ga.width, gb.width) };
  } else {
    genes = coin(ga, gb);
  }
  const precision = coin(a.student.precision, b.student.precision) as Precision;
  const common: StorageSettings = {
    precision,
    quantization: coin(a.student.quantization, b.student.quantization),
    qat: precision === 'float32' ? false : coin(a.student.qat, b.student.qat),
  };
  const keys = new Set([...Object.keys(a.training), ...Object.keys(b.training)] as Array<keyof TrainingSettings>);
  const training = Object.fromEntries([...keys].map((k) => [k, coin(a.training[k], b.training[k]) ?? a.training[k] ?? b.training[k]])) as unknown as TrainingSettings;
  return makeCandidate(genes, common, withExitsSettings(space, training, rng), ctx);
}
