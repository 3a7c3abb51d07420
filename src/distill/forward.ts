import * as tf from '@tensorflow/tfjs';
import { KdError } from '../core/errors';
import { biasReluMaxPool, canBiasReluMaxPool, canConvReluPool, conv2dBiasRelu, convReluPool, isUnit } from '@kdsearch/wasm-train-kernels';
import type { ConvGeometry } from '@kdsearch/wasm-train-kernels';
import type { StorageSettings } from '../space/student';
import { fakeQuantizer } from './fake-quant';
import { createRng } from '../core/rng';

/** Logits of a batch; `training` turns dropout on. */
export type Forward = (x: tf.Tensor, training: boolean) => tf.Tensor2D;

const ACTIVATIONS = new Set(['relu', 'linear', 'softmax']);

function activate(name: string, x: tf.Tensor): tf.Tensor {
  if (name === 'relu') return tf.relu(x);
  if (name === 'softmax') return tf.softmax(x);
  return x;
}

/**
 * Why the replay cannot run a layer (undefined when it can): it covers what
 * src/model/build.ts makes, and a born-again student of a user's teacher
 * may hold anything else (dilation, channels-first data, other activations).
 */
function notReplayable(layer: tf.layers.Layer): string | undefined {
  const c = layer.getConfig() as Record<string, unknown>;
  const name = layer.getClassName();
  if (['Flatten', 'Dropout'].includes(name)) return undefined;
  if (['MaxPooling2D', 'AveragePooling2D', 'GlobalAveragePooling2D'].includes(name)) {
    return c.dataFormat === 'channelsFirst' ? `${name} with channelsFirst data` : undefined;
  }
  if (name === 'BatchNormalization') {
    const last = (layer.outputShape as number[]).length - 1;
    if (c.axis !== -1 && c.axis !== last) return `${name} over axis ${String(c.axis)}`;
    return c.center === false || c.scale === false ? `${name} without center or scale` : undefined;
  }
  if (name === 'Activation') return ACTIVATIONS.has(String(c.activation)) ? undefined : `activation "${String(c.activation)}"`;
  if (!['Dense', 'Conv2D', 'SeparableConv2D'].includes(name)) return `layer ${name}`;
  if (!ACTIVATIONS.has(String(c.activation ?? 'linear'))) return `${name} with activation "${String(c.activation)}"`;
  if (name !== 'Dense' && (c.dataFormat === 'channelsFirst' || !isUnit(c.dilationRate))) return `${name} with channelsFirst data or dilation`;
  return undefined;
}

const unchanged = (w: tf.Tensor) => w;

const isReluConv = (kind: string, c: Record<string, any>) => (kind === 'Conv2D' || kind === 'SeparableConv2D') && c.activation === 'relu' && c.useBias !== false;

/** A 2x2 max pool at stride 2 without padding (the students' pool). */
const isPool2x2 = (kind: string | undefined, c: Record<string, any> | undefined) =>
  kind === 'MaxPooling2D' && c !== undefined && [...c.poolSize, ...(c.strides ?? c.poolSize)].every((v: number) => v === 2) && c.padding === 'valid';

interface ReplayLayer {
  kind: string;
  c: Record<string, any>;
  w: tf.Tensor[];
}

/**
 * How a ReLU convolution runs the 2x2 pool that follows it, where the
 * backend has the kernels: 'direct', the whole block as one kernel over few
 * input channels (a first layer over images); 'epilogue', the bias, ReLU and
 * pool as one kernel after the bare convolution. Undefined: no pool joins it.
 */
type PoolFusion = 'direct' | 'epilogue' | undefined;

/** The layers to replay, each convolution with the pool it absorbs (that pool is no step of its own). */
function replaySteps(layers: ReplayLayer[]): (ReplayLayer & { pool: PoolFusion; last: number })[] {
  const steps: (ReplayLayer & { pool: PoolFusion; last: number })[] = [];
  for (let i = 0; i < layers.length; i++) {
    const { kind, c, w } = layers[i];
    let pool: PoolFusion;
    if (isReluConv(kind, c) && isPool2x2(layers[i + 1]?.kind, layers[i + 1]?.c) && canBiasReluMaxPool(c.filters)) {
      pool = kind === 'Conv2D' && canConvReluPool(w[0].shape, { strides: c.strides, dilationRate: c.dilationRate }) ? 'direct' : 'epilogue';
      i++;
    }
    // the index of the step's last layer: a pool it absorbs ends the step
    steps.push({ kind, c, w, pool, last: i });
  }
  return steps;
}

/**
 * Batch normalization over the last axis, as tfjs-layers computes it: in
 * training, with the batch's mean and (biased) variance, which also move
 * the layer's moving statistics by its momentum; otherwise with the moving
 * statistics. Weights in the layer's order: gamma, beta, moving mean,
 * moving variance. Quantization leaves them alone (stored as float32).
 */
function batchNorm(x: tf.Tensor, [gamma, beta, movingMean, movingVariance]: tf.Tensor[], c: Record<string, any>, training: boolean): tf.Tensor {
  if (!training) return tf.batchNorm(x, movingMean, movingVariance, beta, gamma, c.epsilon);
  return trainingBatchNorm(c.epsilon, (mean, variance) => {
    // The moving statistics are state, not part of the loss: their update is no path for gradients.
    const follow = (moving: tf.Tensor, batch: tf.Tensor) =>
      tf.tidy(() => (moving as tf.Variable).assign(tf.add(tf.mul(moving, c.momentum), tf.mul(batch, 1 - c.momentum))));
    follow(movingMean, mean);
    follow(movingVariance, variance);
  })(x, gamma, beta);
}

/**
 * Training-mode batch normalization with its gradient written out (Ioffe &
 * Szegedy 2015): dx = gamma / sqrt(var + eps) / n * (n dy - sum dy - xhat
 * sum(dy xhat)). Twelve full-size passes where autodiff through tf.moments
 * and tf.batchNorm took over forty (its gradient tiles the per-channel
 * vectors to the input's shape), which made a batch-normed student's step
 * 9x slower than the same student without norms on wasm.
 */
function trainingBatchNorm(epsilon: number, onMoments: (mean: tf.Tensor, variance: tf.Tensor) => void) {
  return tf.customGrad(((x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, save: tf.GradSaveFunc) => {
    const axes = [...Array(x.rank - 1).keys()];
    const { mean, variance } = tf.moments(x, axes);
    onMoments(mean, variance);
    const inverse = tf.rsqrt(tf.add(variance, epsilon));
    const normalized = tf.mul(tf.sub(x, mean), inverse);
    save([normalized, inverse, gamma]);
    return {
      value: tf.add(tf.mul(normalized, gamma), beta),
      gradFunc: (dy: tf.Tensor, [xhat, inv, g]: tf.Tensor[]) => {
        const n = dy.size / g.size;
        const dBeta = tf.sum(dy, axes);
        const dGamma = tf.sum(tf.mul(dy, xhat), axes);
        const dx = tf.mul(tf.sub(tf.sub(tf.mul(dy, n), dBeta), tf.mul(xhat, dGamma)), tf.div(tf.mul(g, inv), n));
        return [dx, dGamma, dBeta];
      },
    };
  }) as never) as (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor;
}

/**
 * A convolution with its bias, then its activation (ReLU fused into one
 * kernel, the common case), or its ReLU and the pool it absorbs.
 */
function convolutionBlock(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D | undefined, geometry: ConvGeometry, activation: string, pool: PoolFusion): tf.Tensor {
  // Without a bias (a batch norm follows): the bare convolution.
  if (!bias) return activate(activation, tf.conv2d(x, filter, geometry.strides, geometry.pad));
  if (pool === 'direct') return convReluPool(x, filter, bias, geometry.pad);
  if (pool === 'epilogue') return biasReluMaxPool(tf.conv2d(x, filter, geometry.strides, geometry.pad), bias);
  if (activation === 'relu') return conv2dBiasRelu(x, filter, bias, geometry);
  return activate(activation, tf.add(tf.conv2d(x, filter, geometry.strides, geometry.pad), bias));
}

/**
 * The training forward pass: a replay of the model's layers (the same
 * weights and arithmetic as model.apply) that runs each convolution with its
 * bias and ReLU as one kernel, which tfjs-layers does not do while a
 * gradient is recorded; and, for quantization-aware training, reads every
 * weight through a fake quantizer. A model with a layer the replay does not
 * cover trains through model.apply, or, under quantization-aware training,
 * is refused. Which kernels it fuses is decided once, for the backend
 * current when it is made (a trial's backend does not change).
 */
export function studentForward(model: tf.LayersModel, storage?: StorageSettings, opts: ReplayOptions = {}): Forward {
  const run = tappedForward(model, storage, [], opts);
  return (x, training) => run(x, training).logits;
}

export interface ReplayOptions {
  /**
   * The seed of the training step about to run, read at each training
   * call: dropout masks are then a function of the run's seed and the step
   * (a paused trial continues with the masks an unpaused one would draw).
   * Absent, masks are unseeded. The layers-API fallback is always unseeded.
   */
  dropoutSeed?: () => number;
}

/** Dropout seeds by (seed, the optimizer's step count): restored with the optimizer's state, so a continued run draws the same masks. */
export function dropoutSeeds(seed: number, optimizer: tf.Optimizer): () => number {
  return () => createRng('dropout', seed, optimizer.iterations).seed32();
}

/** Logits and the activations after chosen layers of a sequential model, in the order of those layers. */
export type TappedForward = (x: tf.Tensor, training: boolean) => { logits: tf.Tensor2D; taps: tf.Tensor[] };

/**
 * studentForward that also returns the outputs of the layers at `tapAfter`
 * (indices into model.layers): the block outputs a multi-exit student's
 * exits read. A tap after a pool that a convolution absorbs is the fused
 * kernel's output, so taps cost nothing.
 */
export function tappedForward(model: tf.LayersModel, storage: StorageSettings | undefined, tapAfter: readonly number[], opts: ReplayOptions = {}): TappedForward {
  const wanted = new Set(tapAfter);
  const quantized = storage !== undefined && storage.qat && storage.precision !== 'float32';
  const uncovered = model.layers.map(notReplayable).find((why) => why !== undefined);
  if (uncovered) {
    if (quantized) throw new KdError('SPEC_INVALID', `quantization-aware training does not support ${uncovered}`);
    if (wanted.size === 0) return (x, training) => ({ logits: model.apply(x, { training }) as tf.Tensor2D, taps: [] });
    const outputs = [...tapAfter.map((i) => model.layers[i].output as tf.SymbolicTensor), model.outputs[0]];
    const tapped = tf.model({ inputs: model.inputs, outputs });
    return (x, training) => {
      const all = tapped.apply(x, { training }) as tf.Tensor[];
      return { logits: all[all.length - 1] as tf.Tensor2D, taps: all.slice(0, -1) };
    };
  }
  const plain = quantized ? fakeQuantizer(storage, false) : unchanged;
  const depthwise = quantized ? fakeQuantizer(storage, true) : unchanged;
  // read once: getConfig serialises the whole layer, and the variables are
  // the same objects for the model's life (training assigns their values)
  const steps = replaySteps(model.layers.map((layer) => ({ kind: layer.getClassName(), c: layer.getConfig() as Record<string, any>, w: layer.weights.map((v) => v.read()) })));
  const missing = tapAfter.filter((i) => !steps.some((s) => s.last === i));
  if (missing.length) throw new KdError('INTERNAL', `no replay step ends at layer ${missing.join(', ')}: a tap must follow a whole block`);
  return (x, training) => {
    let h = x;
    const taps = new Map<number, tf.Tensor>();
    const stepSeed = training ? opts.dropoutSeed?.() : undefined;
    for (const { kind, c, w, pool, last } of steps) {
      switch (kind) {
        case 'Flatten':
          h = tf.reshape(h, [h.shape[0], -1]);
          break;
        case 'Dense': {
          const product = tf.matMul(h, plain(w[0]));
          h = activate(c.activation ?? 'linear', w[1] ? tf.add(product, plain(w[1])) : product);
          break;
        }
        case 'Conv2D':
          h = convolutionBlock(h as tf.Tensor4D, plain(w[0]) as tf.Tensor4D, w[1] && (plain(w[1]) as tf.Tensor1D), { strides: c.strides, pad: c.padding }, c.activation ?? 'linear', pool);
          break;
        case 'SeparableConv2D': {
          // Keras' order: depthwise (no bias), then pointwise 1x1 with the bias
          const spatial = tf.depthwiseConv2d(h as tf.Tensor4D, depthwise(w[0]) as tf.Tensor4D, c.strides, c.padding);
          h = convolutionBlock(spatial, plain(w[1]) as tf.Tensor4D, w[2] && (plain(w[2]) as tf.Tensor1D), { strides: 1, pad: 'valid' }, c.activation ?? 'linear', pool);
          break;
        }
        case 'BatchNormalization':
          h = batchNorm(h, w, c, training);
          break;
        case 'Activation':
          h = activate(c.activation, h);
          break;
        case 'MaxPooling2D':
          h = tf.maxPool(h as tf.Tensor4D, c.poolSize, c.strides, c.padding);
          break;
        case 'AveragePooling2D':
          h = tf.avgPool(h as tf.Tensor4D, c.poolSize, c.strides, c.padding);
          break;
        case 'GlobalAveragePooling2D':
          h = tf.mean(h, [1, 2]);
          break;
        case 'Dropout':
          // one seed per layer: two layers' masks of one step must differ
          if (training && c.rate > 0) h = tf.dropout(h, c.rate, undefined, stepSeed === undefined ? undefined : (stepSeed + last) >>> 0);
          break;
        default:
          throw new KdError('INTERNAL', `the training replay has no case for layer ${kind}`);
      }
      if (wanted.has(last)) taps.set(last, h);
    }
    return { logits: h as tf.Tensor2D, taps: tapAfter.map((i) => taps.get(i)!) };
  };
}
