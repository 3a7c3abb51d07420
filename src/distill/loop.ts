import * as tf from '@tensorflow/tfjs';
import { KdError } from '../core/errors';
import { createRng } from '../core/rng';
import { quietly } from '../core/quiet-gate';

/** One point of a learning curve. */
export interface EpochRecord {
  epoch: number;
  /** Mean training loss (the full objective) over the epoch's batches. */
  loss: number;
  /** Mean distillation term KL(p_t || p_s) at temperature T (0 without a teacher). */
  kdLoss: number;
  /** Mean cross-entropy against the labels. */
  ceLoss: number;
  /** Top-1 accuracy on the held-out split after this epoch. */
  valAccuracy: number;
  /** Wall time of the epoch, evaluation included. */
  seconds: number;
}

/**
 * What a scheme does with one batch: given the batch's row indices (int32,
 * on the backend), update its variables and return [total, kd, ce] as a
 * 1-D tensor. Called inside tf.tidy.
 */
export type BatchStep = (indices: tf.Tensor1D) => tf.Tensor1D;

export interface LoopOptions {
  /** Rows of the training split. */
  n: number;
  /** The last epoch to train (1-based). */
  epochs: number;
  /** The first epoch to train (default 1): a paused trial continues at its checkpoint's epoch + 1, its batch order replayed up to there. */
  firstEpoch?: number;
  batchSize: number;
  seed: number;
  step: BatchStep;
  /** Held-out accuracy after each epoch. */
  evaluate: () => Promise<number>;
  onEpoch?: (record: EpochRecord) => void | Promise<void>;
  /** Runs before each epoch (1-based): schemes refresh their targets here. */
  beforeEpoch?: (epoch: number) => void | Promise<void>;
}

/**
 * The one training loop of kdsearch (DESIGN.md rule 2). Schemes differ in
 * their BatchStep; batching, shuffling, per-batch tidy, loss bookkeeping
 * and the divergence check live here. The loss is read back once per epoch,
 * not per step, so the backend is never stalled waiting for the host.
 */
export async function trainLoop(opts: LoopOptions): Promise<EpochRecord[]> {
  const rng = createRng('batches', opts.seed);
  const order = Array.from({ length: opts.n }, (_, i) => i);
  const curve: EpochRecord[] = [];
  const firstEpoch = opts.firstEpoch ?? 1;
  // The batch order is a function of the seed and the epoch: a continued run draws the same batches an unpaused one would.
  for (let epoch = 1; epoch < firstEpoch; epoch++) rng.shuffle(order);
  for (let epoch = firstEpoch; epoch <= opts.epochs; epoch++) {
    const started = performance.now();
    await opts.beforeEpoch?.(epoch);
    rng.shuffle(order);
    let sums = tf.zeros([3]);
    let batches = 0;
    for (let start = 0; start < opts.n; start += opts.batchSize) {
      const end = Math.min(opts.n, start + opts.batchSize);
      // Through the machine's quiet gate: a latency measurement elsewhere waits for this step, and this step for it.
      const next = quietly(() =>
        tf.tidy(() => {
          const indices = tf.tensor1d(order.slice(start, end), 'int32');
          return tf.add(sums, opts.step(indices));
        }),
      );
      sums.dispose();
      sums = next;
      batches++;
      // Yield to the event loop now and then so progress messages and signals get through.
      if (batches % 20 === 0) await new Promise<void>((r) => setImmediate(r));
    }
    const [loss, kdLoss, ceLoss] = Array.from(await sums.data()).map((v) => v / Math.max(1, batches));
    sums.dispose();
    if (!Number.isFinite(loss)) {
      throw new KdError('TRIAL_DIVERGED', `training loss became ${loss} in epoch ${epoch}; try a lower learning rate`);
    }
    const valAccuracy = await opts.evaluate();
    const record = { epoch, loss, kdLoss, ceLoss, valAccuracy, seconds: (performance.now() - started) / 1000 };
    curve.push(record);
    await opts.onEpoch?.(record);
  }
  return curve;
}
