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

/** A number flag checked against its zod schema: the bounds the space and the worker use too (core/training.ts). */
export function schemaArg(schema: z.ZodNumber) {
  return (value: string): number => {
    const r = schema.safeParse(value.trim() === '' ? Number.NaN : Number(value));
    if (!r.success) throw new InvalidArgumentError(`${r.error.issues[0].message}.`);
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
