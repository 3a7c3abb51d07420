import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SIMD_KERNELS_BASE64 } from '../src/model/wasm-kernels/simd-binary';
import { compileKernels } from './support/wat';

test('the shipped SIMD module is the build of kernels.wat (run npm run build:wat after editing it)', async () => {
  const built = Buffer.from(await compileKernels());
  const shipped = Buffer.from(SIMD_KERNELS_BASE64, 'base64');
  assert.ok(shipped.length > 1000, 'simd-binary.ts holds a module');
  assert.ok(built.equals(shipped), 'simd-binary.ts is stale: npm run build:wat');
});
