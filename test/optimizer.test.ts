import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { createAdam } from '../src/distill/adam';
import { initBackend } from '../src/model/backend';

before(async () => {
  await initBackend('wasm');
  await initBackend('cpu');
});

test("createAdam is the wasm kernels' fused Adam where they are active, tf.train.adam elsewhere", async () => {
  await tf.setBackend('wasm');
  const fused = createAdam(0.01);
  assert.equal(fused.getClassName(), 'KdFusedAdam');
  fused.dispose();
  await tf.setBackend('cpu');
  const stock = createAdam(0.01);
  assert.equal(stock.getClassName(), 'Adam');
  stock.dispose();
});
