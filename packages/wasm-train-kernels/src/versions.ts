import { join } from 'node:path';
import { KernelError } from './errors';

/** The packages whose private fields the kernels read (shared/heap.ts): the backend's heap and tensor map. */
const PINNED = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm'] as const;

type Pinned = (typeof PINNED)[number];

/** The exact versions this package is written against: its peer dependencies. */
export function pinnedVersions(): Record<Pinned, string> {
  // dist/src/versions.js -> the package root
  const manifest = require(join(__dirname, '..', '..', 'package.json')) as { peerDependencies: Record<string, string> };
  return Object.fromEntries(PINNED.map((name) => [name, manifest.peerDependencies[name]])) as Record<Pinned, string>;
}

/** The versions installed where this package resolves them. */
export function installedVersions(): Record<Pinned, string> {
  return Object.fromEntries(PINNED.map((name) => [name, (require(`${name}/package.json`) as { version: string }).version])) as Record<Pinned, string>;
}

/**
 * Refuses another version of tfjs than the pinned one, naming both: the
 * kernels read fields of the wasm backend that are not its public API, and
 * a release may move them without notice.
 */
export function assertPinnedVersions(installed: Record<string, string> = installedVersions()): void {
  const pinned = pinnedVersions();
  const wrong = PINNED.filter((name) => installed[name] !== pinned[name]);
  if (wrong.length) {
    const list = wrong.map((name) => `${name} ${installed[name] ?? '(missing)'} is installed, ${pinned[name]} expected`).join('; ');
    throw new KernelError(
      'BACKEND_UNAVAILABLE',
      `@kdsearch/wasm-train-kernels reads private fields of the tfjs wasm backend and works only with the versions it pins: ${list}. Install exactly those versions (npm install ${wrong.map((n) => `${n}@${pinned[n]}`).join(' ')}), or update the kernels and their pins together.`,
    );
  }
}
