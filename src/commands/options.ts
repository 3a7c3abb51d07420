import { existsSync, readFileSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import type { z } from 'zod';
import { KdError } from '../core/errors';
import { parseStudentSpec } from '../space/student';
import type { StudentSpec } from '../space/student';

export function intArg(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ' up'}.`);
    }
    return n;
  };
}

/** "a whole number from 1 to 1000", "a number above 0 and at most 1": a number schema's bounds in words. */
function describeNumber(schema: z.ZodNumber): string {
  const kind = schema.isInt ? 'a whole number' : 'a number';
  const min = schema.minValue ?? -Infinity;
  const max = schema.maxValue ?? Infinity;
  const unbounded = (v: number) => !Number.isFinite(v) || Math.abs(v) >= Number.MAX_SAFE_INTEGER;
  if (unbounded(min)) return unbounded(max) ? kind : `${kind} up to ${max}`;
  const exclusive = !schema.safeParse(min).success;
  if (unbounded(max)) return `${kind} ${exclusive ? 'above' : 'from'} ${min}${exclusive ? '' : ' up'}`;
  return exclusive ? `${kind} above ${min} and at most ${max}` : `${kind} from ${min} to ${max}`;
}

/** A number flag checked against its zod schema: the bounds the space and the worker use too (core/training.ts). */
export function schemaArg(schema: z.ZodNumber) {
  const expected = `expected ${describeNumber(schema)}.`;
  return (value: string): number => {
    const r = schema.safeParse(value.trim() === '' ? Number.NaN : Number(value));
    if (!r.success) throw new InvalidArgumentError(expected);
    return r.data;
  };
}

/** A student spec given as inline JSON (starting with "{") or as a path to a JSON file. */
export function readStudentSpec(arg: string): StudentSpec {
  const inline = arg.trim().startsWith('{');
  const origin = inline ? '--student (inline JSON)' : arg;
  let text = arg;
  if (!inline) {
    if (!existsSync(arg)) throw new KdError('USAGE', `--student ${arg}: no such file; give a path to a JSON spec or inline JSON starting with "{"`);
    text = readFileSync(arg, 'utf8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new KdError('SPEC_INVALID', `${origin}: not valid JSON (${(err as Error).message})`);
  }
  return parseStudentSpec(json, origin);
}
