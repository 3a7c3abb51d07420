import * as tf from '@tensorflow/tfjs';
import { quietly } from '../core/quiet-gate';

/** A model, or a forward function (e.g. the fake-quantized pass of QAT). */
export type Predictor = tf.LayersModel | ((x: tf.Tensor, training: boolean) => tf.Tensor2D);

/**
 * Runs a model over all rows of `x` in large batches and returns what each
 * batch's `reduce` makes of its logits, summed. Inference mode (no dropout).
 */
async function sumOverBatches(
  model: Predictor,
  x: tf.Tensor,
  batchSize: number,
  reduce: (logits: tf.Tensor2D, start: number, size: number) => tf.Scalar,
): Promise<number> {
  const n = x.shape[0];
  let total = tf.scalar(0);
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const next = quietly(() =>
      tf.tidy(() => {
        const batch = tf.slice(x, start, size);
        const logits = typeof model === 'function' ? model(batch, false) : (model.predict(batch) as tf.Tensor2D);
        return tf.add(total, reduce(logits, start, size));
      }),
    );
    total.dispose();
    total = next as tf.Scalar;
  }
  const value = (await total.data())[0];
  total.dispose();
  return value;
}

/** Top-1 accuracy (DESIGN.md rule 8, on the held-out test split). */
export async function accuracy(model: Predictor, x: tf.Tensor, y: tf.Tensor1D, batchSize = 500): Promise<number> {
  const correct = await sumOverBatches(model, x, batchSize, (logits, start, size) =>
    tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.slice(y, start, size)), 'float32')),
  );
  return correct / x.shape[0];
}

/** Logits of every row, read back to the host (the teacher-logits cache). */
export async function predictLogits(model: tf.LayersModel, x: tf.Tensor, batchSize = 500): Promise<Float32Array> {
  const n = x.shape[0];
  const parts: Float32Array[] = [];
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const logits = tf.tidy(() => model.predict(tf.slice(x, start, size)) as tf.Tensor);
    parts.push((await logits.data()) as Float32Array);
    logits.dispose();
  }
  const width = parts.length ? parts[0].length / Math.min(batchSize, n) : 0;
  const out = new Float32Array(n * width);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
