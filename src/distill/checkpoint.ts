import * as tf from '@tensorflow/tfjs';
import { KdError } from '../core/errors';
import { checkpointFloats } from '../core/checkpoint';
import type { Checkpoint } from '../core/checkpoint';
import type { PreparedScheme } from './schemes/scheme';

/** What a run is made of, to be saved at a rung and restored in another thread or process. */
export interface RunState {
  model: tf.LayersModel;
  scheme: PreparedScheme;
  optimizer: tf.Optimizer;
}

/**
 * The run after epoch `epoch` as a checkpoint (core/checkpoint.ts). Reads
 * the tensors; frees only what it made (the optimizer's step count).
 */
export async function saveCheckpoint(epoch: number, run: RunState): Promise<Checkpoint> {
  const model = run.model.getWeights();
  const scheme = run.scheme.state?.save() ?? [];
  const optimizer = await run.optimizer.getWeights();
  const tensors = [...model, ...scheme, ...optimizer.map((w) => w.tensor)];
  const shapes = tensors.map((t) => [...t.shape]);
  const data = new Float32Array(checkpointFloats({ epoch, parts: { model: 0, scheme: 0, optimizer: 0 }, shapes }));
  let offset = 0;
  for (const t of tensors) {
    const values = await t.data();
    data.set(values, offset);
    offset += values.length;
  }
  // the step count is a tensor made for the caller; the rest belong to the model, the scheme and the optimizer
  optimizer[0]?.tensor.dispose();
  return { epoch, parts: { model: model.length, scheme: scheme.length, optimizer: optimizer.length }, shapes, data: data.buffer };
}

/** Puts a checkpoint's tensors back into a freshly prepared run of the same candidate. */
export async function restoreCheckpoint(checkpoint: Checkpoint, run: RunState): Promise<void> {
  const values = new Float32Array(checkpoint.data);
  let offset = 0;
  const tensors = checkpoint.shapes.map((shape) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const t = tf.tensor(values.subarray(offset, offset + size), shape);
    offset += size;
    return t;
  });
  const { model: m, scheme: s } = checkpoint.parts;
  try {
    const modelShapes = run.model.weights.map((w) => w.shape.join('x'));
    const saved = checkpoint.shapes.slice(0, m).map((x) => x.join('x'));
    if (modelShapes.join(',') !== saved.join(',')) {
      throw new KdError('INTERNAL', `the checkpoint does not fit this student: weights [${saved.join(', ')}], the model's [${modelShapes.join(', ')}]`);
    }
    run.model.setWeights(tensors.slice(0, m));
    const schemeState = tensors.slice(m, m + s);
    if (schemeState.length && !run.scheme.state) throw new KdError('INTERNAL', `the checkpoint has ${schemeState.length} scheme tensors; this scheme keeps none`);
    run.scheme.state?.restore(schemeState);
    await run.optimizer.setWeights(tensors.slice(m + s).map((tensor, i) => ({ name: `checkpoint/${i}`, tensor })));
  } finally {
    tf.dispose(tensors);
  }
}
