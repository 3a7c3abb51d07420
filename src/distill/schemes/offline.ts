import { distillStep } from '../distill-step';
import type { TrainingScheme } from './scheme';

/** A trained, frozen teacher guides the student through its cached logits (labels alone when alpha is 0). */
export const offlineScheme: TrainingScheme = {
  usesTeacherLogits: true,
  prepare: ({ model, forward, optimizer, train, training }) => ({
    step: distillStep({ model, forward, optimizer, data: train, loss: { temperature: training.temperature, alpha: training.alpha }, seed: training.seed }),
    dispose: () => {},
  }),
};
