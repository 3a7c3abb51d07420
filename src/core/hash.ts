import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every depth, so equal values encode equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value as object).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

export function sha256(...parts: Array<string | ArrayBufferView>): string {
  const h = createHash('sha256');
  for (const part of parts) {
    if (typeof part === 'string') h.update(part);
    else h.update(new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
  }
  return h.digest('hex');
}
