import { z } from 'zod';
import { searchSpaceSchema } from './schema';

/** JSON Schema of search-space files, for editors (`kdsearch schema`). */
export function searchSpaceJsonSchema(): object {
  return {
    ...z.toJSONSchema(searchSpaceSchema, { io: 'input', unrepresentable: 'any' }),
    title: 'kdsearch search space',
  };
}
