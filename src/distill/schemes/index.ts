import type { Scheme } from '../../core/training';
import { offlineScheme } from './offline';
import { onlineScheme } from './online';
import type { TrainingScheme } from './scheme';
import { selfScheme } from './self';
import { selfExitsScheme } from './self-exits';

/** Every training scheme by the name a space or `--scheme` gives it. */
export const TRAINING_SCHEMES: Record<Scheme, TrainingScheme> = {
  offline: offlineScheme,
  online: onlineScheme,
  self: selfScheme,
  'self-exits': selfExitsScheme,
};
