import * as tf from '@tensorflow/tfjs';
import { quietly } from '../../core/quiet-gate';
import { distillStep } from '../distill-step';
import type { Forward } from '../forward';
import type { TrainingScheme } from './scheme';

async function predictAll(forward: Forward, x: tf.Tensor, batchSize = 500): Promise<tf.Tensor2D> {
  const parts: tf.Tensor2D[] = [];
  for (let start = 0; start < x.shape[0]; start += batchSize) {
    const size = Math.min(batchSize, x.shape[0] - start);
    parts.push(quietly(() => tf.tidy(() => forward(tf.slice(x, start, size), false))));
    await new Promise<void>((r) => setImmediate(r));
  }
  const all = tf.concat(parts) as tf.Tensor2D;
  tf.dispose(parts);
  return all;
}

/**
 * The student teaches itself: its targets are its own predictions on the
 * training split at the end of the previous epoch (progressive
 * self-knowledge distillation, Kim et al. 2021; born-again when the student
 * has the teacher's architecture). Their weight grows linearly from 0 in
 * the first epoch to alpha in the last.
 */
export const selfScheme: TrainingScheme = {
  usesTeacherLogits: false,
  prepare: ({ model, forward, optimizer, train, training }) => {
    let targets: tf.Tensor2D | undefined;
    let alpha = 0;
    return {
      step: distillStep({
        model,
        forward,
        optimizer,
        data: train,
        targets: () => targets,
        loss: () => ({ temperature: training.temperature, alpha }),
        seed: training.seed,
      }),
      async beforeEpoch(epoch) {
        if (epoch === 1) return;
        const next = await predictAll(forward, train.x);
        targets?.dispose();
        targets = next;
        alpha = training.epochs > 1 ? (training.alpha * (epoch - 1)) / (training.epochs - 1) : training.alpha;
      },
      dispose: () => targets?.dispose(),
    };
  },
};
