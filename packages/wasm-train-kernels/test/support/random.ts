/**
 * Seeded numbers for the tests' inputs and random cases. The same stream as
 * kdsearch's createRng (mulberry32 keyed by the same hash), so the cases
 * these tests ran as part of kdsearch are the cases they run here; the
 * package cannot import kdsearch.
 */
export interface TestRng {
  next(): number;
  int(n: number): number;
  normal(): number;
  pick<T>(items: readonly T[]): T;
}

function mix32(a: number): number {
  a = Math.imul(a ^ (a >>> 16), 0x85ebca6b);
  a = Math.imul(a ^ (a >>> 13), 0xc2b2ae35);
  return (a ^ (a >>> 16)) >>> 0;
}

function seedOf(keys: Array<number | string>): number {
  let h = 0x9e3779b9;
  for (const key of keys) {
    const text = String(key);
    for (let i = 0; i < text.length; i++) h = mix32(h ^ text.charCodeAt(i)) + 0x6d2b79f5;
    h = mix32(h ^ 0x1f);
  }
  return h >>> 0;
}

export function testRng(...keys: Array<number | string>): TestRng {
  let state = seedOf(keys);
  let spare: number | undefined;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = (): number => {
    if (spare !== undefined) {
      const v = spare;
      spare = undefined;
      return v;
    }
    let u = 0;
    while (u === 0) u = next();
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
  return { next, int: (n) => Math.floor(next() * n), normal, pick: (items) => items[Math.floor(next() * items.length)] };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
