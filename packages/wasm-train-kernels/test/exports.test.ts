import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { SIMD_KERNELS_BASE64 } from '../src/generated/simd-binary';
import { SIMD_EXPORT_PARAMS } from '../src/generated/simd-exports';
import { BINARY_FILE, EXPORTS_FILE, buildKernels, compile, parseExports } from '../scripts/build-kernels';

test('the shipped module and its interface are the build of wat/ (run npm run build:kernels after editing a .wat)', async () => {
  const built = await buildKernels();
  assert.ok(readFileSync(BINARY_FILE, 'utf8') === built.binary, 'src/generated/simd-binary.ts is stale: npm run build:kernels');
  assert.ok(readFileSync(EXPORTS_FILE, 'utf8') === built.exports, 'src/generated/simd-exports.ts is stale: npm run build:kernels');
});

test('the module exports exactly the functions of the interface, each with its number of parameters', () => {
  const module = new WebAssembly.Module(Buffer.from(SIMD_KERNELS_BASE64, 'base64'));
  const memory = new WebAssembly.Memory({ initial: 1 });
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports as Record<string, (...args: number[]) => void>;
  assert.deepEqual(Object.keys(exports).sort(), Object.keys(SIMD_EXPORT_PARAMS).sort());
  for (const [name, params] of Object.entries(SIMD_EXPORT_PARAMS)) {
    assert.equal(exports[name].length, params.length, `${name}: the binary takes ${exports[name].length} arguments, the interface ${params.length}`);
  }
  assert.ok(Object.keys(SIMD_EXPORT_PARAMS).length >= 19);
});

test('the interface parser reads named parameters across lines and comments, and refuses what it cannot type, naming the file', () => {
  const [parsed] = parseExports([
    { file: 'a.wat', text: '  (func (export "k")\n    ;; the input\n    (param $x i32) (param $scale f32)\n    (param $n i32) (result f32)\n    (local $i i32))' },
  ]);
  assert.deepEqual(parsed, { name: 'k', file: 'a.wat', params: [{ name: 'x', type: 'i32' }, { name: 'scale', type: 'f32' }, { name: 'n', type: 'i32' }], result: 'f32' });
  assert.throws(() => parseExports([{ file: 'b.wat', text: '(func (export "k") (param i32 i32))' }]), /wat\/b\.wat: export "k" has an unnamed parameter/);
  assert.throws(() => parseExports([{ file: 'c.wat', text: '(func (export "k") (param $v v128))' }]), /wat\/c\.wat: export "k", parameter \$v: type v128 cannot cross to JavaScript/);
  assert.throws(
    () => parseExports([{ file: 'd.wat', text: '(func (export "k") (param $a i32))' }, { file: 'e.wat', text: '(func (export "k") (param $a i32))' }]),
    /wat\/e\.wat: export "k" is declared twice/,
  );
});

test("a compile error names the .wat file and its line, not the assembled module's", async () => {
  const good = { file: 'a.wat', text: '  (func $one (result i32) (i32.const 1))\n' };
  const bad = { file: 'b.wat', text: '  ;; fine\n  (func (export "two") (result i32)\n    (i32.add (i32.const 1)))\n' };
  await assert.rejects(compile([good, bad]), /the kernels do not compile:[\s\S]*wat\/b\.wat:3:/);
});
