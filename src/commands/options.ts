import { existsSync, readFileSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { KdError } from '../errors';
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

export function numberArg(min: number, max: number, opts: { exclusiveMin?: boolean } = {}) {
  return (value: string): number => {
    const n = Number(value);
    const belowMin = opts.exclusiveMin ? n <= min : n < min;
    if (value.trim() === '' || !Number.isFinite(n) || belowMin || n > max) {
      throw new InvalidArgumentError(`expected a number ${opts.exclusiveMin ? 'above' : 'from'} ${min}${opts.exclusiveMin ? ' and at most' : ' to'} ${max}.`);
    }
    return n;
  };
}

export function choiceArg<T extends string>(choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${choices.join(', ')}.`);
    return value as T;
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
