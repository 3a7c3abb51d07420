import * as tf from '@tensorflow/tfjs';
import { KdError } from '../core/errors';
import type { ConcreteSpec } from '../space/student';
import { measureSpec } from '../space/measure';
import { createRng } from '../core/rng';

/**
 * Builds the tf.LayersModel of a concrete spec. The model outputs logits (no
 * softmax): distillation softens them with a temperature first.
 * Weight initialisers are seeded, so a seed gives the same starting weights.
 */
/** What a built network must fit: the dataset's input shape and classes, and the seed of its initial weights. */
export interface ModelShape {
  inputShape: number[];
  numClasses: number;
  seed: number;
}

export function buildModel(spec: ConcreteSpec, opts: ModelShape): tf.LayersModel {
  // Refuses what does not fit the input: tfjs would build a layer with an
  // empty output and train it on garbage (wasm) or zeros (cpu).
  measureSpec(spec, opts.inputShape, opts.numClasses);
  const rng = createRng('init', opts.seed);
  const kernelInitializer = () => tf.initializers.glorotUniform({ seed: rng.seed32() });
  const model = tf.sequential();
  const first = { inputShape: opts.inputShape };
  let needsInput = true;
  const withInput = <T extends object>(config: T): T => {
    if (!needsInput) return config;
    needsInput = false;
    return { ...config, ...first };
  };
  if (spec.kind === 'cnn') {
    if (opts.inputShape.length !== 3) {
      throw new KdError('TEACHER_MISMATCH', `a cnn student needs image input; the dataset's input shape is [${opts.inputShape.join(', ')}]`);
    }
    for (const block of spec.blocks) {
      if (block.op === 'conv') {
        model.add(
          tf.layers.conv2d(
            withInput({ filters: block.filters, kernelSize: block.kernel, padding: block.padding, activation: 'relu', kernelInitializer: kernelInitializer() }),
          ),
        );
      } else {
        model.add(
          tf.layers.separableConv2d(
            withInput({
              filters: block.filters,
              kernelSize: block.kernel,
              padding: block.padding,
              activation: 'relu',
              depthwiseInitializer: kernelInitializer(),
              pointwiseInitializer: kernelInitializer(),
            }),
          ),
        );
      }
      if (block.pool) model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    }
  }
  if (opts.inputShape.length > 1) model.add(tf.layers.flatten(withInput({})));
  const hidden = spec.kind === 'mlp' ? spec.hidden : spec.dense;
  for (const units of hidden) {
    model.add(tf.layers.dense(withInput({ units, activation: 'relu', kernelInitializer: kernelInitializer() })));
  }
  if (spec.dropout > 0 && !needsInput) model.add(tf.layers.dropout({ rate: spec.dropout }));
  model.add(tf.layers.dense(withInput({ units: opts.numClasses, kernelInitializer: kernelInitializer() })));
  return model;
}
