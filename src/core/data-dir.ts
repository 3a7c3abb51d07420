import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Where teachers, caches and the database live unless --data-dir says otherwise. */
export const DEFAULT_DATA_DIR = 'data';

/** The database a data dir holds: every command's --db default. */
export function defaultDbPath(dataDir: string): string {
  return join(dataDir, 'kdsearch.db');
}

/** Derived files (teacher logits, binary datasets), keyed by content hashes. */
export function cacheDir(dataDir: string): string {
  return join(dataDir, 'cache');
}

/** Saved teachers (the built-in one, trained once per dataset). */
export function teachersDir(dataDir: string): string {
  return join(dataDir, 'teachers');
}

/** Writes through a temporary file and a rename, so a reader never sees half a file. */
export function writeAtomic(file: string, data: string | Uint8Array): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}
