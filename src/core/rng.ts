/**
 * Seeded pseudo-random numbers. Nothing in kdsearch uses Math.random: every
 * stream is keyed so that the same seed gives the same run (DESIGN.md rule 1).
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Standard normal (Box-Muller). */
  normal(): number;
  pick<T>(items: readonly T[]): T;
  shuffle<T>(items: T[]): T[];
  /** A 32-bit seed for a library that wants one (e.g. tfjs initialisers). */
  seed32(): number;
}

function mix32(a: number): number {
  a = Math.imul(a ^ (a >>> 16), 0x85ebca6b);
  a = Math.imul(a ^ (a >>> 13), 0xc2b2ae35);
  return (a ^ (a >>> 16)) >>> 0;
}

/** Derives one 32-bit seed from several keys (e.g. experiment seed and trial number). */
export function deriveSeed(...keys: Array<number | string>): number {
  let h = 0x9e3779b9;
  for (const key of keys) {
    const text = String(key);
    for (let i = 0; i < text.length; i++) h = mix32(h ^ text.charCodeAt(i)) + 0x6d2b79f5;
    h = mix32(h ^ 0x1f);
  }
  return h >>> 0;
}

/** mulberry32: small, fast, and good enough for sampling and shuffling. */
export function createRng(...keys: Array<number | string>): Rng {
  let state = deriveSeed(...keys);
  let spareNormal: number | undefined;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng: Rng = {
    next,
    int: (n) => Math.floor(next() * n),
    normal: () => {
      if (spareNormal !== undefined) {
        const v = spareNormal;
        spareNormal = undefined;
        return v;
      }
      let u = 0;
      while (u === 0) u = next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spareNormal = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    pick: (items) => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[Math.floor(next() * items.length)];
    },
    shuffle: (items) => {
      for (let i = items.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        const tmp = items[i];
        items[i] = items[j];
        items[j] = tmp;
      }
      return items;
    },
    seed32: () => Math.floor(next() * 4294967296) >>> 0,
  };
  return rng;
}
