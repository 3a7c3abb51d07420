import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromFloat16Bits, toFloat16Bits } from '../src/model/float16';
import { channelGroups, dequantizeWeight, quantizeWeight } from '../src/model/quantize';
import { createRng } from '../src/core/rng';

test('float16 conversion of known values', () => {
  const known: Array<[number, number]> = [
    [0, 0x0000],
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [0.5, 0x3800],
    [2 ** -24, 0x0001], // smallest subnormal
    [1e6, 0x7c00], // overflow -> inf
    [1 + 2 ** -11, 0x3c00], // tie, rounds to even
    [1 + 3 * 2 ** -11, 0x3c02], // tie, rounds to even (up)
  ];
  for (const [value, bits] of known) assert.equal(toFloat16Bits(value), bits, `${value}`);
  assert.equal(fromFloat16Bits(0x3555), 0.333251953125);
  assert.ok(Number.isNaN(fromFloat16Bits(toFloat16Bits(NaN))));
});

test('float16 round trip keeps 11 significant bits', () => {
  const rng = createRng('f16');
  for (let i = 0; i < 1000; i++) {
    const v = rng.normal() * 3;
    const back = fromFloat16Bits(toFloat16Bits(v));
    assert.ok(Math.abs(back - v) <= Math.abs(v) * 2 ** -11 + 2 ** -25, `${v} -> ${back}`);
  }
});

test('int8 per-tensor: symmetric signed codes, zero exact, every value within half a step, the largest magnitude exact', () => {
  const rng = createRng('int8');
  const values = Float32Array.from({ length: 300 }, () => rng.normal());
  values[7] = 0;
  const q = quantizeWeight('dense/kernel', [30, 10], values, 'int8', 'per-tensor');
  assert.ok(q.data instanceof Int8Array);
  assert.equal(q.scale!.length, 1);
  assert.equal(q.min, undefined, 'zero point 0: no minimum stored');
  const maxAbs = Math.max(...Array.from(values, Math.abs));
  assert.ok(Math.abs(q.scale![0] - maxAbs / 127) < 1e-12);
  assert.ok(Math.max(...Array.from(q.data, Math.abs)) === 127 && Math.min(...q.data) >= -127);
  const back = dequantizeWeight(q);
  const step = q.scale![0];
  for (let i = 0; i < values.length; i++) assert.ok(Math.abs(back[i] - values[i]) <= step / 2 + 1e-6);
  assert.equal(back[7], 0);
  const at = values.findIndex((v) => Math.abs(v) === maxAbs);
  assert.ok(Math.abs(back[at] - values[at]) < 1e-6);
  // By hand: [-1, 0.5, 0.25] -> scale 1/127, codes [-127, 64, 32] (0.5 * 127 = 63.5 rounds up).
  const small = quantizeWeight('w', [3], Float32Array.from([-1, 0.5, 0.25]), 'int8', 'per-tensor');
  assert.deepEqual(Array.from(small.data), [-127, 64, 32]);
});

test('int8 weights stored before the grid became symmetric (unsigned codes with a minimum) still read back', () => {
  const legacy = { name: 'w', shape: [3], precision: 'int8' as const, data: Uint8Array.from([0, 128, 255]), scale: [2 / 255], min: [-1] };
  const back = dequantizeWeight(legacy);
  assert.ok(Math.abs(back[0] + 1) < 1e-7 && Math.abs(back[2] - 1) < 1e-6 && Math.abs(back[1] - (128 * 2) / 255 + 1) < 1e-6);
});

test('int8 per-channel uses one scale per output channel and is tighter', () => {
  const values = new Float32Array(40);
  // Channel 0 spans [-10, 10], the others [-0.01, 0.01]: per-tensor crushes them.
  for (let i = 0; i < 40; i++) values[i] = i % 4 === 0 ? (i / 40) * 20 - 10 : ((i % 7) - 3) / 300;
  const perTensor = dequantizeWeight(quantizeWeight('k', [10, 4], values, 'int8', 'per-tensor'));
  const q = quantizeWeight('k', [10, 4], values, 'int8', 'per-channel');
  assert.equal(q.scale!.length, 4);
  const perChannel = dequantizeWeight(q);
  const err = (a: Float32Array) => a.reduce((m, v, i) => (i % 4 ? Math.max(m, Math.abs(v - values[i])) : m), 0);
  assert.ok(err(perChannel) < err(perTensor) / 10, `${err(perChannel)} vs ${err(perTensor)}`);
});

test('depthwise kernels group by their C*M output channels', () => {
  assert.equal(channelGroups('separable_conv2d/depthwise_kernel', [3, 3, 8, 2]), 16);
  assert.equal(channelGroups('conv2d/kernel', [3, 3, 8, 32]), 32);
  assert.equal(channelGroups('dense/bias', [10]), 10);
});

test('a constant tensor quantizes without dividing by zero', () => {
  const q = quantizeWeight('b', [5], new Float32Array(5).fill(0.25), 'int8', 'per-tensor');
  assert.deepEqual(Array.from(dequantizeWeight(q)), [0.25, 0.25, 0.25, 0.25, 0.25]);
});

test('packed weights unpack to the same values, also from a Buffer inside a larger pool', async () => {
  const { packWeights, unpackWeights } = await import('../src/model/weights-pack');
  const rng = createRng('pack');
  const values = Float32Array.from({ length: 37 }, () => rng.normal());
  const weights = [
    quantizeWeight('a/kernel', [37], values, 'float32', 'per-tensor'),
    quantizeWeight('b/kernel', [37], values, 'int8', 'per-channel'),
    quantizeWeight('c/kernel', [37], values, 'float16', 'per-tensor'),
  ];
  const { manifest, buffer } = packWeights(weights);
  const pool = Buffer.alloc(buffer.byteLength + 13);
  Buffer.from(buffer).copy(pool, 13);
  const back = unpackWeights(manifest, pool.subarray(13));
  back.forEach((w, i) => assert.deepEqual(Array.from(dequantizeWeight(w)), Array.from(dequantizeWeight(weights[i]))));
});
