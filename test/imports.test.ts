import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, tempDir } from './support/helpers';

const CRUISER = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const CONFIG = join(ROOT, '.dependency-cruiser.js');

function cruise(cwd: string) {
  const roots = ['src', 'packages/wasm-train-kernels/src'].filter((r) => existsSync(join(cwd, r)));
  return spawnSync(process.execPath, [CRUISER, ...roots, '--config', CONFIG, '--output-type', 'err'], { cwd, encoding: 'utf8', timeout: 120_000 });
}

test("kdsearch's imports follow DESIGN.md's layers (dependency-cruiser)", () => {
  const r = cruise(ROOT);
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
});

test('a wrong import is refused by name: the store importing distill, tfjs outside model and distill, a cycle, the kernels package importing kdsearch', () => {
  const dir = tempDir();
  const file = (path: string, text: string) => {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  file('src/distill/trial.ts', 'export const trial = 1;\n');
  file('src/store/store.ts', "import { trial } from '../distill/trial';\nexport const stored = trial;\n");
  file('src/runtime/task.ts', "import * as tf from '@tensorflow/tfjs';\nexport const t = tf;\n");
  file('src/space/a.ts', "import { b } from './b';\nexport const a = () => b;\n");
  file('src/space/b.ts', "import { a } from './a';\nexport const b = () => a;\n");
  file('packages/wasm-train-kernels/src/index.ts', "import { a } from '../../../src/space/a';\nexport const k = a;\n");
  // The fixture resolves tfjs from kdsearch's own node_modules.
  file('node_modules/@tensorflow/tfjs/package.json', JSON.stringify({ name: '@tensorflow/tfjs', main: 'index.js' }));
  file('node_modules/@tensorflow/tfjs/index.js', 'module.exports = {};\n');
  file('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'commonjs', moduleResolution: 'node' } }));
  const r = cruise(dir);
  assert.notEqual(r.status, 0);
  const out = `${r.stdout}\n${r.stderr}`;
  assert.match(out, /store-imports: src\/store\/store\.ts → src\/distill\/trial\.ts/);
  assert.match(out, /tfjs-only-in-model-and-distill: src\/runtime\/task\.ts/);
  assert.match(out, /no-circular: src\/space\/a\.ts/);
  assert.match(out, /wasm-kernels-know-no-kdsearch: packages\/wasm-train-kernels\/src\/index\.ts → src\/space\/a\.ts/);
});
