import { existsSync, readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { KdError } from '../core/errors';
import { searchSpaceSchema } from './schema';
import type { SearchSpace } from './schema';

function spaceError(file: string, message: string): KdError {
  return new KdError('SPACE_INVALID', `${file}: ${message}`);
}

/**
 * Reads a search space from YAML (or JSON, which YAML parses too) and
 * validates it. Every problem is reported with the file, the line, the
 * field path and what was expected.
 */
export function loadSearchSpace(file: string): { space: SearchSpace; text: string } {
  if (!existsSync(file)) throw spaceError(file, 'no such file');
  const text = readFileSync(file, 'utf8');
  return { space: parseSearchSpace(text, file), text };
}

export function parseSearchSpace(text: string, file: string): SearchSpace {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const pos = lineCounter.linePos(e.pos[0]);
    throw spaceError(file, `line ${pos.line}, column ${pos.col}: not valid YAML (${e.message.split('\n')[0]})`);
  }
  const value = doc.toJS();
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw spaceError(file, 'expected a mapping of fields (name, objectives, reference, training, families, ...)');
  }
  const result = searchSpaceSchema.safeParse(value);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const path = issue.path.map(String);
    // Point at the deepest node that exists in the file.
    let line: number | undefined;
    for (let depth = path.length; depth >= 0 && line === undefined; depth--) {
      const node = doc.getIn(path.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
      if (node?.range) line = lineCounter.linePos(node.range[0]).line;
    }
    const where = path.length ? path.join('.') : '(top level)';
    return `  - ${where}${line ? ` (line ${line})` : ''}: ${issue.message}`;
  });
  throw spaceError(file, `invalid search space\n${lines.join('\n')}`);
}
