import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { FusedAdam } from '../src/kernels/KdAdamUpdate';
import { isPointwiseGemmConv } from '../src/kernels/Conv2D';
import { reluBiasBackprop } from '../src/kernels/KdReluGradBias';
import { isWinogradConv } from '../src/shared/winograd';
import { setUpBackends } from './support/backends';
import { maxAbsDiff, testRng } from './support/random';

// kdsearch's replacements of wasm kernels (SIMD and JS) against the pure-JS
// cpu backend, on the shapes kdsearch trains and on the shapes that take
// their fallback paths.

before(setUpBackends);

function values(n: number, seed: number, opts: { relu?: boolean; levels?: number } = {}): Float32Array {
  const rng = testRng('fast-kernels', seed);
  return Float32Array.from({ length: n }, () => {
    // few distinct levels make ties, as ReLU zeros and constant image regions do
    let v = opts.levels ? Math.floor(rng.next() * opts.levels) - 1 : rng.normal();
    if (opts.relu) v = Math.max(0, v);
    return v;
  });
}

type Inputs = Record<string, { data: Float32Array | Int32Array; shape: number[]; dtype?: 'float32' | 'int32' }>;

/** Runs f on both backends from the same data; returns the outputs as arrays. */
async function onBoth(inputs: Inputs, f: (t: Record<string, tf.Tensor>) => tf.Tensor | tf.Tensor[]) {
  const out: Record<string, { values: Float32Array[]; shapes: number[][] }> = {};
  for (const backend of ['cpu', 'wasm']) {
    await tf.setBackend(backend);
    const tensors = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, tf.tensor(v.data, v.shape, v.dtype ?? 'float32')]));
    const result = f(tensors);
    const list = Array.isArray(result) ? result : [result];
    out[backend] = { values: await Promise.all(list.map(async (t) => Float32Array.from(await t.data()))), shapes: list.map((t) => t.shape) };
    tf.dispose([...list, ...Object.values(tensors)]);
  }
  await tf.setBackend('wasm');
  return out as { cpu: { values: Float32Array[]; shapes: number[][] }; wasm: { values: Float32Array[]; shapes: number[][] } };
}

function assertClose(got: Awaited<ReturnType<typeof onBoth>>, tolerance: number, what: string) {
  assert.deepEqual(got.wasm.shapes, got.cpu.shapes, `${what}: shapes`);
  got.cpu.values.forEach((ref, i) => {
    const err = maxAbsDiff(got.wasm.values[i], ref);
    assert.ok(err <= tolerance, `${what}: output ${i} max abs error ${err} > ${tolerance}`);
  });
}

test('max pool and its gradient match the cpu backend, ties included (first maximum in row order)', async () => {
  const cases: { shape: [number, number, number, number]; size: number; stride: number; pad: 'valid' | 'same'; note: string }[] = [
    { shape: [2, 8, 8, 4], size: 2, stride: 2, pad: 'valid', note: 'SIMD path' },
    { shape: [3, 7, 9, 8], size: 2, stride: 2, pad: 'valid', note: 'SIMD path, odd sizes (last row/column in no window)' },
    { shape: [2, 6, 6, 16], size: 2, stride: 2, pad: 'same', note: 'SIMD path, same padding that pads nothing' },
    { shape: [2, 7, 7, 4], size: 2, stride: 2, pad: 'same', note: 'JS path: same padding that pads' },
    { shape: [1, 6, 6, 3], size: 2, stride: 2, pad: 'valid', note: 'JS path: channels not a multiple of 4' },
    { shape: [2, 9, 9, 4], size: 3, stride: 2, pad: 'same', note: 'JS path: overlapping windows (gradients add up)' },
  ];
  for (const [i, c] of cases.entries()) {
    for (const ties of [false, true]) {
      const n = c.shape.reduce((a, b) => a * b);
      const inputs: Inputs = { x: { data: values(n, i * 2 + (ties ? 1 : 0), ties ? { levels: 3, relu: true } : {}), shape: c.shape } };
      const got = await onBoth(inputs, ({ x }) => {
        const pool = (v: tf.Tensor) => tf.maxPool(v as tf.Tensor4D, c.size, c.stride, c.pad);
        const y = pool(x);
        const r = tf.tensor(values(y.size, 99 + i), y.shape);
        const dx = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(pool(v), r)))(x);
        return [y, dx];
      });
      // gradients are routed, not computed: exact, ties and all, except where
      // overlapping windows add them up in another order
      assertClose(got, c.size > c.stride ? 1e-6 : 0, `${c.note}${ties ? ', with ties' : ''}`);
    }
  }
});

interface ConvCase {
  x: readonly number[];
  w: readonly number[];
  stride: number;
  pad: 'same' | 'valid';
  note: string;
}

/** Gradients of sum(conv(x, w) * r) with respect to w and x, on both backends. */
async function convGradientsMatch(cases: readonly ConvCase[], conv: (x: tf.Tensor4D, w: tf.Tensor4D, c: ConvCase) => tf.Tensor, opts: { withOutput?: boolean } = {}) {
  for (const [i, c] of cases.entries()) {
    const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b);
    const got = await onBoth({ x: { data: values(size(c.x), i), shape: [...c.x] }, w: { data: values(size(c.w), i + 50), shape: [...c.w] } }, ({ x, w }) => {
      const y = conv(x as tf.Tensor4D, w as tf.Tensor4D, c);
      const r = tf.tensor(values(y.size, 200 + i), y.shape);
      const [dx, dw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(conv(xx as tf.Tensor4D, ww as tf.Tensor4D, c), r)))([x, w]);
      return opts.withOutput ? [dw, dx, y] : [dw, dx];
    });
    assertClose(got, 1e-3, c.note);
  }
}

test('conv2d filter gradient matches the cpu backend on every path (SIMD direct, SIMD im2col rows, GEMM)', async () => {
  await convGradientsMatch(
    [
      { x: [2, 10, 10, 8], w: [3, 3, 8, 16], stride: 1, pad: 'valid', note: 'SIMD: C and N multiples of 4, N multiple of 8' },
      { x: [2, 9, 7, 4], w: [5, 5, 4, 12], stride: 1, pad: 'same', note: 'SIMD: N = 12 (an 8-block and a 4-block)' },
      { x: [2, 11, 11, 8], w: [3, 3, 8, 4], stride: 2, pad: 'valid', note: 'SIMD: stride 2, valid' },
      { x: [2, 12, 12, 1], w: [3, 3, 1, 16], stride: 1, pad: 'same', note: 'SIMD im2col rows: a grey first layer' },
      { x: [1, 9, 9, 3], w: [5, 5, 3, 8], stride: 2, pad: 'same', note: 'SIMD im2col rows: RGB, 5x5, stride 2' },
      { x: [2, 8, 8, 4], w: [1, 1, 4, 8], stride: 1, pad: 'valid', note: 'SIMD: pointwise (1x1)' },
      { x: [2, 8, 8, 4], w: [3, 3, 4, 6], stride: 1, pad: 'same', note: 'GEMM: N not a multiple of 4' },
    ],
    (x, w, c) => tf.conv2d(x, w, c.stride, c.pad),
  );
});

test('Winograd 3x3 convolutions: output, input and filter gradients match the cpu backend', async () => {
  const cases: ConvCase[] = [
    { x: [8, 14, 14, 16], w: [3, 3, 16, 32], stride: 1, pad: 'same', note: "small CNN's second layer: several chunks of tiles, the last one partial" },
    { x: [8, 7, 7, 32], w: [3, 3, 32, 32], stride: 1, pad: 'same', note: 'odd sizes: every tile crosses the border' },
    { x: [3, 5, 6, 4], w: [3, 3, 4, 12], stride: 1, pad: 'same', note: 'N = 12 (an 8-block and a 4-block), tiles not a multiple of 4' },
    { x: [2, 1, 1, 8], w: [3, 3, 8, 4], stride: 1, pad: 'same', note: 'a single pixel' },
    { x: [1, 2, 9, 4], w: [3, 3, 4, 4], stride: 1, pad: 'same', note: 'one row of tiles' },
  ];
  for (const c of cases) {
    const info = tf.backend_util.computeConv2DInfo([...c.x] as [number, number, number, number], [...c.w] as [number, number, number, number], c.stride, 1, c.pad);
    assert.ok(isWinogradConv(info), `${c.note}: takes the Winograd path`);
  }
  await convGradientsMatch(cases, (x, w, c) => tf.conv2d(x, w, c.stride, c.pad), { withOutput: true });
  const notTaken: [number[], number[], number, 'same' | 'valid'][] = [[[1, 8, 8, 4], [3, 3, 4, 4], 1, 'valid'], [[1, 8, 8, 4], [3, 3, 4, 4], 2, 'same'], [[1, 8, 8, 3], [3, 3, 3, 4], 1, 'same'], [[1, 8, 8, 4], [5, 5, 4, 4], 1, 'same']];
  for (const [x, w, stride, pad] of notTaken) {
    const info = tf.backend_util.computeConv2DInfo(x as [number, number, number, number], w as [number, number, number, number], stride, 1, pad);
    assert.equal(isWinogradConv(info), false, `${JSON.stringify({ x, w, stride, pad })} goes to the other kernels`);
  }
});

test('1x1 convolutions by the GEMM (separable blocks\' pointwise layers): output, input and filter gradients match the cpu backend', async () => {
  const cases: ConvCase[] = [
    { x: [8, 14, 14, 16], w: [1, 1, 16, 32], stride: 1, pad: 'valid', note: "separable CNN's first pointwise layer (the input gradient too)" },
    { x: [4, 7, 7, 32], w: [1, 1, 32, 64], stride: 1, pad: 'same', note: "'same' is unpadded at 1x1; 8-column blocks" },
    { x: [4, 3, 5, 6], w: [1, 1, 6, 12], stride: 1, pad: 'valid', note: 'C = 6: GEMM forward, XNNPACK input gradient (N = 6 there)' },
    { x: [3, 5, 5, 8], w: [1, 1, 8, 12], stride: 1, pad: 'valid', note: 'B*H*W = 75: XNNPACK both ways' },
  ];
  const attrs = (c: ConvCase) => ({ strides: c.stride, pad: c.pad, dilations: 1 });
  assert.deepEqual(
    cases.map((c) => [isPointwiseGemmConv(c.x, c.w, attrs(c)), isPointwiseGemmConv([...c.x.slice(0, 3), c.w[3]], [1, 1, c.w[3], c.w[2]], attrs(c))]),
    [[true, true], [true, true], [true, false], [false, false]],
    'forward and input-gradient paths',
  );
  for (const [x, w, stride, pad] of [[[2, 4, 4, 4], [1, 1, 4, 4], 2, 'valid'], [[2, 4, 4, 4], [3, 3, 4, 4], 1, 'valid']] as const) {
    assert.equal(isPointwiseGemmConv(x, w, { strides: stride, pad }), false, `${JSON.stringify({ x, w, stride })} goes to the other kernels`);
  }
  await convGradientsMatch(cases, (x, w, c) => tf.conv2d(x, w, c.stride, c.pad), { withOutput: true });
});

test('depthwise filter gradient matches the cpu backend on the SIMD path and the JS path', async () => {
  await convGradientsMatch(
    [
      { x: [2, 10, 10, 8], w: [3, 3, 8, 1], stride: 1, pad: 'same', note: 'SIMD: multiplier 1, channels multiple of 4' },
      { x: [2, 11, 9, 4], w: [3, 3, 4, 1], stride: 2, pad: 'valid', note: 'SIMD: stride 2, valid' },
      { x: [2, 8, 8, 3], w: [3, 3, 3, 1], stride: 1, pad: 'same', note: 'JS: channels not a multiple of 4' },
      { x: [1, 8, 8, 4], w: [3, 3, 4, 2], stride: 1, pad: 'same', note: 'JS: multiplier 2' },
    ],
    (x, w, c) => tf.depthwiseConv2d(x, w, c.stride, c.pad),
  );
});

test('bias add, bias-gradient sum, transposed matrix products and row gathers match the cpu backend', async () => {
  const a = { data: values(2 * 5 * 3 * 8, 1), shape: [2, 5, 3, 8] };
  const bias = { data: values(8, 2), shape: [8] };
  assertClose(await onBoth({ a, bias }, ({ a: x, bias: b }) => [tf.add(x, b), tf.add(x, tf.reshape(b, [1, 1, 1, 8]))]), 0, 'SIMD bias add');
  assertClose(await onBoth({ a, bias }, ({ a: x, bias: b }) => [tf.add(b, x), tf.add(x, x), tf.add(tf.slice(x, [0, 0, 0, 0], [2, 5, 3, 6]), tf.slice(b, [0], [6]))]), 0, 'other adds');
  assertClose(await onBoth({ a }, ({ a: x }) => [tf.sum(x, [0, 1, 2]), tf.sum(x, [0, 1, 2], true), tf.sum(x, [1, 2]), tf.sum(x, 3), tf.sum(x)]), 1e-5, 'sums');
  const m = { data: values(6 * 7, 3), shape: [6, 7] };
  const k = { data: values(6 * 5, 4), shape: [6, 5] };
  const n = { data: values(5 * 7, 5), shape: [5, 7] };
  assertClose(
    await onBoth({ m, k, n }, ({ m: mm, k: kk, n: nn }) => [tf.matMul(mm, kk, true, false), tf.matMul(kk, mm, true, false), tf.matMul(mm, nn, false, true), tf.matMul(kk, mm, true, false), tf.matMul(nn, kk, true, true)]),
    1e-5,
    'transposed products',
  );
  // dimensions that are multiples of 4 take kdsearch's SIMD product (a b, and a^T b after a transpose)
  const p = { data: values(12 * 20, 6), shape: [12, 20] };
  const q = { data: values(20 * 8, 7), shape: [20, 8] };
  const r = { data: values(12 * 8, 8), shape: [12, 8] };
  assertClose(
    await onBoth({ p, q, r }, ({ p: pp, q: qq, r: rr }) => [
      tf.matMul(pp, qq),
      tf.matMul(pp, rr, true, false),
      tf.matMul(tf.reshape(pp, [1, 12, 20]), tf.reshape(qq, [1, 20, 8])),
      tf.matMul(tf.reshape(pp, [2, 6, 20]), tf.reshape(tf.concat([qq, qq]), [2, 20, 8])),
    ]),
    1e-5,
    'SIMD products',
  );
  const rows = { data: values(10 * 4 * 3, 6), shape: [10, 4, 3] };
  const idx = { data: Int32Array.from([9, 0, 3, 3]), shape: [4], dtype: 'int32' as const };
  assertClose(await onBoth({ rows, idx }, ({ rows: r, idx: i }) => [tf.gather(r, i), tf.gather(r, tf.tensor1d([3, 1, 1], 'int32'), 1), tf.gather(r, tf.tensor1d([2, 0], 'int32'), 2)]), 0, 'gathers');
});

test("ReLU's fused gradient is bit-identical to Step + Multiply, NaN, zeros and infinities included", async () => {
  const special = [0, -0, 1e-30, -1e-30, NaN, Infinity, -Infinity, 3, -3];
  for (const n of [4 * 7, 4 * 7 + 3, 1]) {
    const x = values(n, 11);
    const dy = values(n, 12);
    special.forEach((v, i) => { if (i < n) x[i] = v; });
    if (n > special.length + 2) { dy[special.length] = NaN; dy[special.length + 1] = Infinity; }
    const got = await onBoth({ x: { data: x, shape: [n] }, dy: { data: dy, shape: [n] } }, ({ x: xx, dy: g }) => {
      const vjp = tf.grad((v: tf.Tensor) => tf.relu(v));
      return vjp(xx, g);
    });
    assert.deepEqual(Array.from(got.wasm.values[0]).map(String), Array.from(got.cpu.values[0]).map(String), `n = ${n}`);
  }
  await tf.setBackend('wasm');
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    tf.grad((v: tf.Tensor) => tf.sum(tf.relu(v)))(tf.tensor([1, -1, 2, -2, 0]));
  });
  assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
});

test('the fused ReLU + bias gradient (one pass on wasm) gives the bits of Step + Multiply and then a sum, NaN and zeros included', async () => {
  const special = [0, -0, 1e-30, -1e-30, NaN, Infinity, -Infinity, 3, -3];
  for (const shape of [[3, 5, 8], [2, 6], [4, 3]]) {
    const n = shape.reduce((a, b) => a * b);
    const y = values(n, 21, { relu: true });
    const dy = values(n, 22);
    special.forEach((v, i) => { if (i < n) y[i] = v; });
    const got = await onBoth({ y: { data: y, shape }, dy: { data: dy, shape } }, ({ y: yy, dy: g }) => {
      const { dz, db } = reluBiasBackprop(g, yy);
      const axes = [...Array(shape.length - 1).keys()];
      const reference = tf.mul(g, tf.cast(tf.step(yy), 'float32'));
      return [dz, db(), reference, tf.sum(reference, axes)];
    });
    const bits = (a: Float32Array) => Array.from(a).map(String);
    // wasm's one pass against tfjs's formula on wasm, and against the cpu backend
    assert.deepEqual(bits(got.wasm.values[0]), bits(got.wasm.values[2]), `${shape}: dz`);
    assert.deepEqual(bits(got.wasm.values[1]), bits(got.wasm.values[3]), `${shape}: db`);
    assert.deepEqual(bits(got.wasm.values[0]), bits(got.cpu.values[0]), `${shape}: dz against cpu`);
    got.cpu.values[1].forEach((ref, c) => {
      const v = got.wasm.values[1][c];
      assert.ok(Number.isNaN(ref) ? Number.isNaN(v) : Math.abs(v - ref) <= 1e-5 * Math.max(1, Math.abs(ref)), `${shape}: db[${c}] ${v} against cpu ${ref}`);
    });
  }
});

test('a row gather with an index out of range fails and leaks nothing', async () => {
  const before = tf.memory().numTensors;
  const x = tf.ones([4, 3]);
  const i = tf.tensor1d([1, 4], 'int32');
  assert.throws(() => tf.gather(x, i), { code: 'INTERNAL', message: /index value 4 is not in \[0, 3\]/ });
  tf.dispose([x, i]);
  assert.equal(tf.memory().numTensors, before);
});

test('clones and same-type casts share the buffer, and outlive the original', async () => {
  const x = tf.tensor([1, 2, 3]);
  const c = tf.clone(x);
  const k = tf.cast(x, 'float32');
  x.dispose();
  assert.deepEqual(Array.from(await c.data()), [1, 2, 3]);
  assert.deepEqual(Array.from(await k.data()), [1, 2, 3]);
  c.dispose();
  assert.deepEqual(Array.from(await k.data()), [1, 2, 3]);
  k.dispose();
  const i = tf.tensor([1.7, -2.2]);
  assert.deepEqual(Array.from(await tf.cast(i, 'int32').data()), [1, -2], 'a real cast still converts');
});

test('the fused Adam gives bit-identical weights to tf.train.adam, and leaks nothing', async () => {
  const run = async (optimizer: tf.Optimizer) => {
    const w = tf.tidy(() => tf.variable(tf.tensor(values(37 * 5, 7), [37, 5])));
    const b = tf.tidy(() => tf.variable(tf.tensor(values(5, 8), [5])));
    const x = tf.tensor(values(16 * 37, 9), [16, 37]);
    for (let i = 0; i < 30; i++) optimizer.minimize(() => tf.sum(tf.square(tf.add(tf.matMul(x, w), b))), false, [w, b]);
    const out = [Float32Array.from(await w.data()), Float32Array.from(await b.data())];
    optimizer.dispose();
    tf.dispose([w, b, x]);
    return out;
  };
  await tf.setBackend('wasm');
  const before = tf.memory().numTensors;
  const fused = new FusedAdam(0.01, tf.backend().epsilon());
  const [w1, b1] = await run(fused);
  const [w2, b2] = await run(tf.train.adam(0.01));
  assert.deepEqual(w1, w2);
  assert.deepEqual(b1, b2);
  assert.ok(maxAbsDiff(w1, values(37 * 5, 7)) > 0.1, 'the weights moved');
  assert.equal(tf.memory().numTensors, before);
});

test("the wasm kernels free their scratch buffers (Winograd tiles, pads, rotated filters, transposes)", async () => {
  await tf.setBackend('wasm');
  const backend = tf.backend();
  const x = tf.tensor(values(2 * 14 * 14 * 16, 1), [2, 14, 14, 16]) as tf.Tensor4D;
  const grey = tf.tensor(values(2 * 12 * 12, 2), [2, 12, 12, 1]) as tf.Tensor4D;
  const w = tf.tensor(values(3 * 3 * 16 * 8, 3), [3, 3, 16, 8]) as tf.Tensor4D;
  const w1 = tf.tensor(values(3 * 3 * 1 * 8, 4), [3, 3, 1, 8]) as tf.Tensor4D;
  const depth = tf.tensor(values(3 * 3 * 16, 5), [3, 3, 16, 1]) as tf.Tensor4D;
  const point = tf.tensor(values(16 * 8, 6), [1, 1, 16, 8]) as tf.Tensor4D;
  const dense = tf.tensor(values(144 * 8, 7), [144, 8]) as tf.Tensor2D;
  const step = () =>
    tf.tidy(() => {
      tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor, e: tf.Tensor) =>
        tf.addN([
          tf.sum(tf.relu(tf.conv2d(x, a as tf.Tensor4D, 1, 'same'))),
          tf.sum(tf.conv2d(grey, b as tf.Tensor4D, 1, 'same')),
          tf.sum(tf.separableConv2d(x, c as tf.Tensor4D, d as tf.Tensor4D, 1, 'same')),
          tf.sum(tf.matMul(tf.reshape(grey, [2, 144]), e as tf.Tensor2D)),
        ]),
      )([w, w1, depth, point, dense]);
    });
  step();
  const before = backend.numDataIds();
  for (let i = 0; i < 5; i++) step();
  assert.equal(backend.numDataIds(), before, 'buffers on the backend');
  tf.dispose([x, grey, w, w1, depth, point, dense]);
});

test("the fused Adam's state restored into a fresh optimizer, on other variables, continues bit for bit", async () => {
  await tf.setBackend('wasm');
  const before = tf.memory().numTensors;
  const x = tf.tensor(values(16 * 37, 9), [16, 37]);
  const fresh = () => [tf.tidy(() => tf.variable(tf.tensor(values(37 * 5, 7), [37, 5]))), tf.tidy(() => tf.variable(tf.tensor(values(5, 8), [5])))];
  const steps = (optimizer: tf.Optimizer, [w, b]: tf.Variable[], n: number) => {
    for (let i = 0; i < n; i++) optimizer.minimize(() => tf.sum(tf.square(tf.add(tf.matMul(x, w), b))), false, [w, b]);
  };
  const straight = fresh();
  const a = new FusedAdam(0.01, tf.backend().epsilon());
  steps(a, straight, 30);
  const expected = [Float32Array.from(await straight[0].data()), Float32Array.from(await straight[1].data())];

  // 12 steps, the state saved, then 18 more by another optimizer on copies of the variables (new names)
  const first = fresh();
  const b = new FusedAdam(0.01, tf.backend().epsilon());
  steps(b, first, 12);
  const saved = await b.getWeights();
  assert.equal(saved.length, 5, 'the step count, then two first and two second moments');
  assert.equal((await saved[0].tensor.data())[0], 12);
  const copies = first.map((v) => tf.tidy(() => tf.variable(v.clone())));
  const c = new FusedAdam(0.01, tf.backend().epsilon());
  await c.setWeights(saved);
  saved[0].tensor.dispose();
  b.dispose();
  steps(c, copies, 18);
  assert.deepEqual([Float32Array.from(await copies[0].data()), Float32Array.from(await copies[1].data())], expected);

  // a restart without the state is not the same run: the test can tell
  const restarted = first.map((v) => tf.tidy(() => tf.variable(v.clone())));
  const d = new FusedAdam(0.01, tf.backend().epsilon());
  steps(d, restarted, 18);
  assert.ok(maxAbsDiff(Float32Array.from(await restarted[0].data()), expected[0]) > 1e-4);

  for (const o of [a, c, d]) o.dispose();
  tf.dispose([x, ...straight, ...first, ...copies, ...restarted]);
  assert.equal(tf.memory().numTensors, before);
});
