import type { z } from 'zod';
import { KdError, formatIssues } from '../core/errors';

/** Parses a JSON column and validates it (DESIGN.md rule 10); a mismatch is STORE_CORRUPT naming the row. */
export function readJson<T>(schema: z.ZodType<T>, text: string | null, where: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text ?? 'null');
  } catch (err) {
    throw new KdError('STORE_CORRUPT', `${where}: stored JSON does not parse (${(err as Error).message})`);
  }
  const r = schema.safeParse(value);
  if (!r.success) throw new KdError('STORE_CORRUPT', `${where}: stored JSON does not match its schema\n${formatIssues(r.error.issues)}`);
  return r.data;
}
