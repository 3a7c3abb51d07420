import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { KdError } from '../core/errors';
import { writeAtomic } from '../core/data-dir';

/**
 * Reads and writes TF.js LayersModel files (model.json + weight shards) on
 * disk without tfjs-node, whose file:// handler is the only one tfjs ships.
 */
export function fileLoader(modelJsonPath: string): tf.io.IOHandler {
  return {
    load: async () => {
      const path = resolve(modelJsonPath);
      if (!existsSync(path)) throw new KdError('TEACHER_INVALID', `${modelJsonPath}: file does not exist (expected a TF.js model.json)`);
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(readFileSync(path, 'utf8'));
      } catch (err) {
        throw new KdError('TEACHER_INVALID', `${modelJsonPath}: not valid JSON (${(err as Error).message})`);
      }
      if (json.format === 'graph-model') {
        throw new KdError('TEACHER_INVALID', `${modelJsonPath}: is a TF.js graph model; kdsearch needs a layers model (tensorflowjs_converter --input_format keras)`);
      }
      if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
        throw new KdError('TEACHER_INVALID', `${modelJsonPath}: expected fields "modelTopology" and "weightsManifest" of a TF.js layers model`);
      }
      const specs: tf.io.WeightsManifestEntry[] = [];
      const buffers: Buffer[] = [];
      for (const group of json.weightsManifest as tf.io.WeightsManifestConfig) {
        for (const shard of group.paths) {
          const shardPath = join(dirname(path), shard);
          if (!existsSync(shardPath)) throw new KdError('TEACHER_INVALID', `${modelJsonPath}: weights file ${shard} (weightsManifest) does not exist`);
          buffers.push(readFileSync(shardPath));
        }
        specs.push(...group.weights);
      }
      const all = Buffer.concat(buffers);
      return {
        modelTopology: json.modelTopology as object,
        format: json.format as string | undefined,
        generatedBy: json.generatedBy as string | undefined,
        convertedBy: json.convertedBy as string | undefined,
        trainingConfig: json.trainingConfig as tf.io.TrainingConfig | undefined,
        weightSpecs: specs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
      };
    },
  };
}

/** Saves to DIR/model.json + DIR/weights.bin, atomically per file. */
export function fileSaver(dir: string): tf.io.IOHandler {
  return {
    save: async (artifacts) => {
      mkdirSync(dir, { recursive: true });
      const weightData = tf.io.concatenateArrayBuffers(
        Array.isArray(artifacts.weightData) ? artifacts.weightData : artifacts.weightData ? [artifacts.weightData] : [],
      );
      const modelJson = {
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: 'kdsearch',
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      };
      writeAtomic(join(dir, 'weights.bin'), Buffer.from(weightData));
      writeAtomic(join(dir, 'model.json'), JSON.stringify(modelJson));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
  };
}
