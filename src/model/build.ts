import * as tf from '@tensorflow/tfjs';
import { KdError } from '../core/errors';
import type { CnnSpec, ConcreteSpec } from '../space/student';
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

/**
 * The students' batch normalization: PyTorch's momentum (0.1 there, 0.9 in
 * Keras' convention) rather than Keras' 0.99, because a trial is a few
 * hundred steps and the moving statistics must forget their initial values
 * within it; Keras' epsilon.
 */
const NORM = { momentum: 0.9, epsilon: 1e-3 };

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
  /** A layer's ReLU: its own activation, or after the batch norm that sits between them (the norm's beta replaces the bias). */
  const reluAfter = (norm: boolean | undefined) => (norm ? { activation: 'linear' as const, useBias: false } : { activation: 'relu' as const });
  const normAndRelu = (norm: boolean | undefined) => {
    if (!norm) return;
    model.add(tf.layers.batchNormalization(NORM));
    model.add(tf.layers.activation({ activation: 'relu' }));
  };
  if (spec.kind === 'cnn') {
    if (opts.inputShape.length !== 3) {
      throw new KdError('TEACHER_MISMATCH', `a cnn student needs image input; the dataset's input shape is [${opts.inputShape.join(', ')}]`);
    }
    for (const block of spec.blocks) {
      const geometry = { filters: block.filters, kernelSize: block.kernel, padding: block.padding, ...reluAfter(block.norm) };
      if (block.op === 'conv') {
        model.add(tf.layers.conv2d(withInput({ ...geometry, kernelInitializer: kernelInitializer() })));
      } else {
        model.add(tf.layers.separableConv2d(withInput({ ...geometry, depthwiseInitializer: kernelInitializer(), pointwiseInitializer: kernelInitializer() })));
      }
      normAndRelu(block.norm);
      if (block.pool === 'avg') model.add(tf.layers.averagePooling2d({ poolSize: 2 }));
      else if (block.pool) model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    }
    if (spec.head === 'gap') model.add(tf.layers.globalAveragePooling2d({}));
  }
  if (opts.inputShape.length > 1 && !(spec.kind === 'cnn' && spec.head === 'gap')) model.add(tf.layers.flatten(withInput({})));
  const hidden = spec.kind === 'mlp' ? spec.hidden : spec.dense;
  for (const units of hidden) {
    model.add(tf.layers.dense(withInput({ units, ...reluAfter(spec.denseNorm), kernelInitializer: kernelInitializer() })));
    normAndRelu(spec.denseNorm);
  }
  if (spec.dropout > 0 && !needsInput) model.add(tf.layers.dropout({ rate: spec.dropout }));
  model.add(tf.layers.dense(withInput({ units: opts.numClasses, kernelInitializer: kernelInitializer() })));
  return model;
}

/**
 * The index in model.layers of each block's last layer, in a model
 * buildModel made from this spec: a block is its convolution, its batch
 * norm and ReLU when it has a norm, and its pool when it has one.
 */
export function blockEnds(spec: CnnSpec): number[] {
  let next = 0;
  return spec.blocks.map((block) => {
    next += 1 + (block.norm ? 2 : 0) + (block.pool ? 1 : 0);
    return next - 1;
  });
}
