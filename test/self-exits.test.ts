import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { errorCodeOf } from '../src/core/errors';
import { createRng } from '../src/core/rng';
import { tappedForward } from '../src/distill/forward';
import { createExitHeads, selfExitsLoss } from '../src/distill/schemes/self-exits';
import { initBackend } from '../src/model/backend';
import { blockEnds, buildModel } from '../src/model/build';
import { fileLoader } from '../src/model/file-io';
import { candidateHash } from '../src/space/candidate';
import { exitSpec, exitStudentOf, shallowExits } from '../src/space/exits';
import { parseSearchSpace } from '../src/space/load';
import { measureSpec } from '../src/space/measure';
import { crossover, mutate } from '../src/space/mutate';
import { sampleCandidate } from '../src/space/sample';
import type { SpaceContext } from '../src/space/sample';
import { parseStudentSpec } from '../src/space/student';
import type { CnnSpec } from '../src/space/student';
import { BUILTIN_TEACHER_SPEC } from '../src/model/teacher-arch';
import { frontMembers } from '../src/search/objectives';
import { Store } from '../src/store/store';
import { startServer } from '../src/web/server';
import { CLI, ROOT, standInSpace, tempDir } from './support/helpers';

const ctx: SpaceContext = { inputShape: [28, 28, 1], numClasses: 10, teacherSpec: BUILTIN_TEACHER_SPEC, teacherParams: 225034, teacherMacs: 0 };

const SPACE = (extra: string) => `
name: exits
objectives: [accuracy, sizeBytes, latencyMs]
reference: { accuracy: 0.5, sizeBytes: 100000, latencyMs: 10 }
training: { epochs: 1 }
${extra}
`;

before(async () => {
  await initBackend('cpu');
  await initBackend('wasm');
});

test('a space asking for self-exits with no family made of blocks is refused, naming the field and the families', () => {
  assert.throws(
    () => parseSearchSpace(SPACE('scheme: [offline, self-exits]\nfamilies: { mlp: { depth: 1, units: 8 } }'), 'mlp-only.yaml'),
    (err: unknown) => errorCodeOf(err) === 'SPACE_INVALID' && /mlp-only\.yaml/.test((err as Error).message) && /scheme.*: self-exits needs a family .*cnn, separable, teacher-copy.*only mlp/.test((err as Error).message),
  );
});

test('self-exits candidates have at least two blocks and their exit settings; the others train offline without them, through sampling, mutation and crossover', () => {
  const space = parseSearchSpace(
    SPACE('scheme: [offline, self-exits]\nexits: { hint: [0, 0.1], head: [flatten, gap], teacher: true }\nfamilies: { mlp: { depth: 1, units: 8 }, cnn: { depth: [1, 2, 3], filters: [4, 8], kernel: 3 } }'),
    'mixed.yaml',
  );
  const rng = createRng('exits-candidates');
  let exits = 0;
  const check = (c: ReturnType<typeof sampleCandidate>) => {
    const eligible = shallowExits(c.student).length > 0;
    if (c.training.scheme === 'self-exits') {
      exits++;
      assert.ok(eligible, `a self-exits candidate has blocks to attach exits to: ${JSON.stringify(c.student)}`);
      assert.ok([0, 0.1].includes(c.training.hint!) && ['flatten', 'gap'].includes(c.training.exitHead!) && c.training.exitsTeacher === true, JSON.stringify(c.training));
    } else {
      assert.equal(c.training.scheme, 'offline');
      assert.deepEqual([c.training.hint, c.training.exitHead, c.training.exitsTeacher], [undefined, undefined, undefined], 'exit settings only under self-exits (equal students hash equal)');
    }
  };
  for (let i = 0; i < 150; i++) {
    const a = sampleCandidate(space, ctx, rng);
    const b = sampleCandidate(space, ctx, rng);
    for (const c of [a, b, mutate(space, ctx, a, rng), crossover(space, ctx, a, b, rng)]) check(c);
  }
  assert.ok(exits > 50, `${exits} self-exits candidates`);
  // An MLP drawn with self-exits is the same candidate as the MLP drawn offline.
  const mlp = parseSearchSpace(SPACE('scheme: [self-exits]\nfamilies: { mlp: { depth: 1, units: 8 }, cnn: { depth: 2, filters: 4, kernel: 3 } }'), 'm.yaml');
  const offline = parseSearchSpace(SPACE('scheme: [offline]\nfamilies: { mlp: { depth: 1, units: 8 }, cnn: { depth: 2, filters: 4, kernel: 3 } }'), 'o.yaml');
  const hashes = (s: typeof mlp) => {
    const r = createRng('same');
    return Array.from({ length: 40 }, () => sampleCandidate(s, ctx, r)).filter((c) => c.student.kind === 'mlp').map(candidateHash);
  };
  assert.deepEqual(hashes(mlp).slice(0, 3), hashes(offline).slice(0, 3));
});

const SPEC = parseStudentSpec(
  { kind: 'cnn', blocks: [{ filters: 8, kernel: 3 }, { filters: 4, kernel: 3, norm: true }, { filters: 8, kernel: 3, pool: 'avg' }], dense: [16] },
  'three blocks',
) as CnnSpec;

test("an exit's student is the first blocks and its head, and its size is counted like any student's", () => {
  assert.deepEqual(shallowExits(SPEC), [1, 2]);
  const exit2 = exitSpec(SPEC, 2);
  assert.deepEqual(exit2.blocks, SPEC.blocks.slice(0, 2));
  assert.deepEqual([exit2.dense, exit2.head, exit2.dropout], [[], undefined, 0]);
  // 28 -> pool 14 -> pool 7: 7*7*4 flattened into 10 classes, after 80 + (3*3*8*4 + 4*4) params of blocks
  assert.equal(measureSpec(exit2, [28, 28, 1], 10).params, 80 + 288 + 16 + (196 * 10 + 10));
  assert.equal(measureSpec(exitSpec(SPEC, 1, 'gap'), [28, 28, 1], 10).params, 80 + (8 * 10 + 10));
  assert.deepEqual(shallowExits({ ...SPEC, blocks: SPEC.blocks.slice(0, 1) }), []);
  // the report and front --json build an exit's student from its candidate, with the head the trial trained
  const training = { scheme: 'self-exits', exitHead: 'gap' } as Parameters<typeof exitStudentOf>[0]['training'];
  assert.deepEqual(exitStudentOf({ student: SPEC, training }, 1), exitSpec(SPEC, 1, 'gap'));
  for (const [student, exit] of [[SPEC, 3], [SPEC, 0], [parseStudentSpec({ kind: 'mlp', hidden: [8] }, 'test'), 1]] as const) {
    assert.throws(() => exitStudentOf({ student, training }, exit), (e: unknown) => errorCodeOf(e) === 'INTERNAL' && /shallow exits are/.test((e as Error).message));
  }
});

for (const backend of ['wasm', 'cpu']) {
  test(`the training forward's taps are the blocks' outputs, and no gradient of the shallow exits' loss reaches the deepest exit's layers (${backend})`, async () => {
    await tf.setBackend(backend);
    const before = tf.memory().numTensors;
    const model = buildModel(SPEC, { inputShape: [12, 12, 1], numClasses: 3, seed: 2 });
    const ends = blockEnds(SPEC);
    assert.deepEqual(ends, [1, 5, 7]);
    const forward = tappedForward(model, SPEC, ends);
    const heads = createExitHeads(SPEC, { inputShape: [12, 12, 1], numClasses: 3, head: 'flatten', seed: 0 });
    // trained heads are not zero: give them values so gradients flow through them
    for (const h of heads) tf.tidy(() => h.kernel.assign(tf.randomNormal(h.kernel.shape, 0, 0.1, 'float32', 3)));
    const x = tf.randomUniform([4, 12, 12, 1], 0, 1, 'float32', 1);
    const labels = tf.tensor1d([0, 1, 2, 1], 'int32');
    tf.tidy(() => {
      const { taps, logits } = forward(x, false);
      // the layers applied one by one, kept after each block's last
      const want: tf.Tensor[] = [];
      model.layers.reduce((h, layer, i) => {
        const out = layer.apply(h) as tf.Tensor;
        if (ends.includes(i)) want.push(out);
        return out;
      }, x as tf.Tensor);
      taps.forEach((t, i) => assert.ok(tf.max(tf.abs(tf.sub(t, want[i]))).dataSync()[0] < 1e-4, `tap ${i}`));
      assert.ok(tf.max(tf.abs(tf.sub(logits, model.predict(x) as tf.Tensor))).dataSync()[0] < 1e-4, 'logits');
    });
    const deepestHead = model.layers[model.layers.length - 1].trainableWeights.map((w) => w.read() as tf.Variable);
    const firstBlock = model.layers[0].trainableWeights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(() => {
      const { logits, taps } = forward(x, true);
      return selfExitsLoss({ logits, taps, heads, head: 'flatten', labels, loss: { temperature: 4, alpha: 0.7 }, hint: 0.5 }).shallow;
    }, [...deepestHead, ...firstBlock, heads[0].kernel, heads[1].adapter!]);
    const largest = (v: tf.Variable) => tf.tidy(() => tf.max(tf.abs(grads[v.name])).dataSync()[0]);
    for (const v of deepestHead) assert.equal(largest(v), 0, `${v.name}: the deepest exit's own layer gets no gradient from the shallow exits`);
    for (const v of [...firstBlock, heads[0].kernel, heads[1].adapter!]) assert.ok(largest(v) > 0, `${v.name} learns from the shallow exits`);
    tf.dispose([x, labels, value, ...Object.values(grads)]);
    tf.dispose(heads.flatMap((h) => [h.kernel, h.bias, ...(h.adapter ? [h.adapter] : [])]));
    model.dispose();
    assert.equal(tf.memory().numTensors, before);
  });
}

/** The tiny test space as a self-exits search over 2- and 3-block CNNs, an MLP among them. */
async function exitsSpace(dir: string): Promise<string> {
  const file = await standInSpace(dir);
  const text = readFileSync(file, 'utf8')
    .replace(/families:[\s\S]*$/, 'families:\n  mlp: { depth: 1, units: 16 }\n  cnn: { depth: [2, 3], filters: [4, 8], kernel: 3 }\n')
    .replace('precision: [float32, int8]', 'precision: [float32, int8]\nscheme: [offline, self-exits]');
  const out = join(dir, 'exits.yaml');
  writeFileSync(out, text);
  return out;
}

function history(db: string, name: string) {
  const store = Store.open(db, { readonly: true });
  try {
    const exp = store.getExperiment(name);
    return { exp, trials: store.history(exp) };
  } finally {
    store.close();
  }
}

test('a search over [offline, self-exits] stores every exit as a student, shows the non-dominated ones on the front, loses none to a SIGKILL and resume, and exports an exit that scores its stored accuracy', async () => {
  const dir = tempDir();
  const space = await exitsSpace(dir);
  const db = join(dir, 'k.db');
  const common = ['--db', db, '--data-dir', join(dir, 'data')];
  const TRIALS = 6;
  const child = spawn(process.execPath, [CLI, 'search', '--space', space, '--name', 'exits', '--trials', String(TRIALS), '--workers', '1', '--seed', '3', ...common], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  // killed once a self-exits trial is stored
  const withExits = () => {
    try {
      return history(db, 'exits').trials.filter((t) => t.exits?.length).length;
    } catch {
      return 0;
    }
  };
  const deadline = Date.now() + 150_000;
  while (withExits() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  child.kill('SIGKILL');
  await exited;
  const killed = history(db, 'exits').trials.filter((t) => t.state === 'COMPLETE');
  assert.ok(killed.some((t) => t.exits?.length), 'a self-exits trial completed before the kill');

  const resumed = spawnSync(process.execPath, [CLI, 'resume', 'exits', ...common, '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 180_000 });
  assert.equal(resumed.status, 0, resumed.stderr);
  const { exp, trials } = history(db, 'exits');
  assert.equal(trials.length, TRIALS);
  assert.ok(trials.every((t) => t.state === 'COMPLETE'), trials.map((t) => t.state).join());
  for (const before of killed) assert.deepEqual(trials[before.number].exits, before.exits, `trial ${before.number}'s exits kept`);
  for (const t of trials) {
    const expected = t.candidate.training.scheme === 'self-exits' ? shallowExits(t.candidate.student) : [];
    assert.deepEqual((t.exits ?? []).map((x) => x.exit), expected, `trial ${t.number}: one stored student per shallow exit`);
    for (const x of t.exits ?? []) {
      const exitStudent = exitSpec(t.candidate.student as CnnSpec, x.exit, t.candidate.training.exitHead);
      assert.equal(x.metrics.params, measureSpec(exitStudent, [28, 28, 1], 10).params, `trial ${t.number} exit ${x.exit}: params as counted`);
      assert.ok(x.metrics.accuracy > 0.2 && x.metrics.latencyMs > 0 && x.metrics.sizeBytes > 0, JSON.stringify(x.metrics));
    }
  }
  // The front as `search --json` reports it: trials and exits, exactly the non-dominated points of all of them.
  const report = JSON.parse(resumed.stdout) as { front: Array<{ number: number; exit?: number; accuracy: number }> };
  const expected = frontMembers(exp.space, trials).map((m) => ({ number: m.trial.number, exit: m.exit, accuracy: m.metrics.accuracy }));
  assert.deepEqual(report.front.map((m) => ({ number: m.number, exit: m.exit, accuracy: m.accuracy })), expected);
  const allPoints = trials.flatMap((t) => [t.metrics!, ...(t.exits ?? []).map((x) => x.metrics)]);
  assert.ok(allPoints.length > TRIALS, 'exits add points');

  // Export an exit (the first stored) and score it on the test split as the trial page's accuracy says.
  const owner = trials.find((t) => t.exits?.length)!;
  const exit = owner.exits![0];
  const out = join(dir, 'exit-export');
  const exported = spawnSync(process.execPath, [CLI, 'export', 'exits', '--trial', String(owner.number), '--exit', String(exit.exit), '--format', 'tfjs', '--out', out, ...common], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(exported.status, 0, exported.stderr);
  const model = await tf.loadLayersModel(fileLoader(join(out, 'model.json')));
  assert.equal(model.outputs.length, 1);
  const { loadDataset } = await import('../src/datasets/load');
  const data = await loadDataset('mnist', { dataDir: join(dir, 'data') });
  const x = tf.tensor(data.test.x, [data.test.n, 28, 28, 1]);
  const predicted = Array.from(tf.tidy(() => tf.argMax(model.predict(x) as tf.Tensor, 1).dataSync()));
  const correct = predicted.filter((p, i) => p === data.test.y[i]).length;
  assert.ok(Math.abs(correct / data.test.n - exit.metrics.accuracy) < 1e-9, `exported exit scores ${correct / data.test.n}, stored ${exit.metrics.accuracy}`);
  x.dispose();
  model.dispose();
  const wrong = spawnSync(process.execPath, [CLI, 'export', 'exits', '--trial', String(owner.number), '--exit', '9', ...common], { cwd: ROOT, encoding: 'utf8' });
  assert.notEqual(wrong.status, 0);
  assert.match(wrong.stderr, new RegExp(`--exit 9: trial ${owner.number} of "exits" has no exit 9; its exits are`));

  // The report: every exit a point (front or dominated), the front's exits keyed "trial.exit", the trial page's exits with downloads.
  const server = await startServer({ db, port: 0, host: '127.0.0.1' }, () => {});
  try {
    const data = (await (await fetch(`${server.url}experiments/exits/data.json`)).json()) as {
      front: Array<{ key: string; number: number; exit: number | null; accuracy: number }>;
      dominated: Array<{ key: string; exit: number | null }>;
      staircases: Record<string, string[]>;
    };
    const plotted = [...data.front, ...data.dominated].filter((r) => r.exit !== null).map((r) => r.key).sort();
    assert.deepEqual(plotted, trials.flatMap((t) => (t.exits ?? []).map((x) => `${t.number}.${x.exit}`)).sort(), 'every exit is a point of the plot');
    const frontKeys = data.front.map((r) => r.key).sort();
    assert.deepEqual(frontKeys, expected.map((m) => (m.exit === undefined ? String(m.number) : `${m.number}.${m.exit}`)).sort(), 'the plotted front is the front');
    for (const keys of Object.values(data.staircases)) for (const k of keys) assert.ok(frontKeys.includes(k), `staircase point ${k} is a front member`);
    const page = await (await fetch(`${server.url}experiments/exits/trials/${owner.number}`)).text();
    assert.match(page, new RegExp(`id="exit-${exit.exit}"`));
    const served = await tf.loadLayersModel(`${server.url}experiments/exits/trials/${owner.number}/exits/${exit.exit}/model.json`);
    assert.equal(served.countParams(), exit.metrics.params);
    served.dispose();
    assert.equal((await fetch(`${server.url}experiments/exits/trials/${owner.number}/exits/9/model.json`)).status, 404);
  } finally {
    await server.close();
  }
});
