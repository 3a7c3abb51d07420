/** The compute backends a user can ask for (`--backend`); auto takes tfjs-node when it loads, else wasm. */
export const BACKEND_CHOICES = ['auto', 'node', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
