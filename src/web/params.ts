import { z } from 'zod';
import { trialStateSchema } from '../core/trial-state';
import { OBJECTIVE_METRICS } from '../space/schema';
import { TABLE_COLUMNS } from './view-models';

/** Route parameters and query strings, validated before any lookup (a bad one is a 400). */
export const experimentParams = z.object({ name: z.string().min(1).max(200) });
export const trialParams = experimentParams.extend({ number: z.string().regex(/^\d{1,9}$/, 'a trial number').transform(Number) });
/** A shallow exit of a trial (self-exits), 1-based. */
export const exitParams = trialParams.extend({ exit: z.string().regex(/^[1-9]\d{0,2}$/, 'an exit number (1, 2, ...)').transform(Number) });

/** The trial table's state, kept in the page's address: page, sort, filters. */
const tableFields = {
  page: z.string().regex(/^\d{1,6}$/, 'a page number').transform(Number).refine((n) => n >= 1, 'a page number from 1').optional(),
  sort: z.enum(TABLE_COLUMNS).optional(),
  dir: z.enum(['asc', 'desc']).optional(),
  state: trialStateSchema.optional(),
  q: z.string().max(200).optional(),
  front: z.enum(['0', '1']).optional(),
  /** Show latencies as a device measured them (serve --device-bench), by its id. */
  device: z.string().regex(/^\d{1,9}$/, 'a device id').transform(Number).optional(),
};
export const tableQuery = z.object(tableFields).strict();
export const chartQuery = z
  .object({
    x: z.enum(OBJECTIVE_METRICS).optional(),
    y: z.enum(OBJECTIVE_METRICS).optional(),
    c: z.enum(OBJECTIVE_METRICS).optional(),
    enc: z.enum(['colour', 'size']).optional(),
    ...tableFields,
  })
  .strict();
/** A live page's poll: the version it has. */
export const dataQuery = z.object({ since: z.string().max(200).optional(), device: tableFields.device }).strict();
export const noQuery = z.object({}).strict();

/** The table query with its defaults: the first page, by trial number. */
export function tableSettings(q: z.infer<typeof tableQuery>) {
  return {
    page: q.page ?? 1,
    sort: q.sort ?? 'number',
    dir: q.dir ?? (q.sort && q.sort !== 'number' ? 'desc' : 'asc'),
    state: q.state,
    q: q.q,
    front: q.front === '1',
  } as const;
}
