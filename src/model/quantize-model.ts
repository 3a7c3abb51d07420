import type * as tf from '@tensorflow/tfjs';
import type { StorageSettings } from '../space/student';
import { quantizeWeight } from './quantize';
import type { StoredWeight } from './quantize';

/**
 * A model's weights as a student stores them, in the model's weight order:
 * each at the student's precision, but for batch norms' vectors, which stay
 * float32 (as runtimes keep them, or fold them into the layer before).
 */
export function quantizeModel(model: tf.LayersModel, storage: Pick<StorageSettings, 'precision' | 'quantization'>): StoredWeight[] {
  const normWeights = new Set(model.layers.filter((l) => l.getClassName() === 'BatchNormalization').flatMap((l) => l.weights.map((v) => v.originalName)));
  const values = model.getWeights();
  return model.weights.map((w, i) => {
    const precision = normWeights.has(w.originalName) ? 'float32' : storage.precision;
    return quantizeWeight(w.originalName, values[i].shape, values[i].dataSync() as Float32Array, precision, storage.quantization);
  });
}
