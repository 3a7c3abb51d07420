/**
 * For bench/reference/optuna_search.py: turns kdsearch genes (one JSON line
 * on stdin: { genes, precision, alpha }) into the student's spec, its
 * params and sizeBytes and the space's size-constraint verdict (one JSON
 * line on stdout), by kdsearch's own code, so the reference builds and
 * counts the same students kdsearch does.
 *   node dist/bench/reference/genes-helper.js --space-json FILE
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { BUILTIN_TEACHER_SPEC } from '../../src/model/teacher-arch';
import { genesSchema } from '../../src/space/candidate';
import { estimateSize, makeCandidate, violation } from '../../src/space/sample';
import { options, searchSpaceSchema } from '../../src/space/schema';
import { flag } from '../stats';

const space = searchSpaceSchema.parse(JSON.parse(readFileSync(flag('space-json', ''), 'utf8')));
const ctx = { inputShape: [28, 28, 1], numClasses: 10, teacherSpec: BUILTIN_TEACHER_SPEC, teacherParams: 0, teacherMacs: 0 };

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const request = JSON.parse(line) as { genes: unknown; precision: 'float32' | 'int8'; alpha: number };
  const training = {
    epochs: options(space.training.epochs)[0],
    batchSize: options(space.training.batchSize)[0],
    learningRate: options(space.training.learningRate)[0],
    temperature: options(space.distillation.temperature)[0],
    alpha: request.alpha,
    scheme: 'offline' as const,
  };
  const candidate = makeCandidate(genesSchema.parse(request.genes), { precision: request.precision, quantization: options(space.quantization)[0], qat: false }, training, ctx);
  const size = estimateSize(candidate, ctx);
  process.stdout.write(`${JSON.stringify({ spec: candidate.student, params: size.params, sizeBytes: size.sizeBytes, violation: violation(space, candidate, ctx) ?? null })}\n`);
});
