import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { capabilities } from '../src/capabilities';
import { ADDED_KERNELS, REPLACED_KERNELS, register } from '../src/register';
import { captureOriginal } from '../src/shared/original';
import { assertPinnedVersions, installedVersions, pinnedVersions } from '../src/versions';
import { setUpBackends } from './support/backends';

before(setUpBackends);

test('register() replaces exactly the kernels the backend has and adds the ones it lacks, and is idempotent', () => {
  for (const config of REPLACED_KERNELS) assert.ok(captureOriginal(config.kernelName), `${config.kernelName}: the wasm backend has its own, which the replacement keeps`);
  for (const config of ADDED_KERNELS) assert.equal(captureOriginal(config.kernelName), undefined, `${config.kernelName}: the wasm backend has none`);
  register();
  for (const config of [...REPLACED_KERNELS, ...ADDED_KERNELS]) {
    assert.equal(tf.getKernel(config.kernelName, 'wasm')?.kernelFunc, config.kernelFunc, `${config.kernelName} is this package's`);
  }
});

test('capabilities(): active on wasm with the kernels registered, not on another backend', async () => {
  await tf.setBackend('cpu');
  assert.deepEqual(capabilities(), { backend: 'cpu', registered: true, active: false });
  await tf.setBackend('wasm');
  assert.deepEqual(capabilities(), { backend: 'wasm', registered: true, active: true });
});

test("ReLU's gradient runs KdReluGrad where the kernels are active and tfjs's own formula elsewhere, with the same values", async () => {
  const gradient = async (backend: string) => {
    await tf.setBackend(backend);
    const x = tf.tensor([-1, 0, 2, -3, 4, 0.5]);
    const info = await tf.profile(() => tf.grad((v: tf.Tensor) => tf.sum(tf.relu(v)))(x));
    const kernels = info.kernelNames;
    const values = Array.from(await (info.result as tf.Tensor).data());
    tf.dispose([x, info.result as tf.Tensor]);
    return { kernels, values };
  };
  const wasm = await gradient('wasm');
  const cpu = await gradient('cpu');
  await tf.setBackend('wasm');
  assert.ok(wasm.kernels.includes('KdReluGrad'), `wasm ran ${wasm.kernels}`);
  assert.ok(!cpu.kernels.includes('KdReluGrad') && cpu.kernels.includes('Step'), `cpu ran ${cpu.kernels}`);
  assert.deepEqual(wasm.values, [0, 0, 1, 0, 1, 1]);
  assert.deepEqual(cpu.values, wasm.values);
});

test('the installed tfjs is the pinned one, and another version is refused by name', () => {
  assert.deepEqual(installedVersions(), pinnedVersions(), 'install the versions in peerDependencies');
  assert.match(pinnedVersions()['@tensorflow/tfjs-core'], /^\d+\.\d+\.\d+$/, 'an exact version, not a range');
  assert.throws(
    () => assertPinnedVersions({ ...pinnedVersions(), '@tensorflow/tfjs-backend-wasm': '4.23.0' }),
    (err: unknown) =>
      (err as { code?: string }).code === 'BACKEND_UNAVAILABLE' &&
      /@tensorflow\/tfjs-backend-wasm 4\.23\.0 is installed, 4\.22\.0 expected/.test((err as Error).message) &&
      /npm install @tensorflow\/tfjs-backend-wasm@4\.22\.0/.test((err as Error).message),
  );
});
