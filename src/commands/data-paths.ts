import { join } from 'node:path';

/** Where teachers, caches and the database live unless --data-dir says otherwise. */
export const DEFAULT_DATA_DIR = 'data';

/** The database a data dir holds: every command's --db default. */
export function defaultDbPath(dataDir: string): string {
  return join(dataDir, 'kdsearch.db');
}
