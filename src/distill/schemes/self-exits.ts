import * as tf from '@tensorflow/tfjs';
import { KdError } from '../../core/errors';
import { createRng } from '../../core/rng';
import { blockEnds, buildModel } from '../../model/build';
import { exitSpec, shallowExits } from '../../space/exits';
import { measureSpec } from '../../space/measure';
import { trainableVariables } from '../distill-step';
import { stopGradient } from '../fake-quant';
import { dropoutSeeds, tappedForward } from '../forward';
import { kdLossWithStats, minimizeWithStats } from '../loss';
import type { KdLossOptions } from '../loss';
import type { ExitHead } from '../../core/training';
import type { CnnSpec } from '../../space/student';
import type { TrainingScheme } from './scheme';

/** A shallow exit's trainable head: the classifier over its block's output, and the adapter to the deepest exit's width. */
export interface ExitHeadVariables {
  exit: number;
  kernel: tf.Variable;
  bias: tf.Variable;
  /** [width, deepest width]; absent when the widths are equal. */
  adapter?: tf.Variable;
}

/** The heads of a self-exits student's shallow exits, their classifiers at zero (see below), their adapters glorot-initialised from the seed. */
export function createExitHeads(spec: CnnSpec, opts: { inputShape: number[]; numClasses: number; head: ExitHead; seed: number }): ExitHeadVariables[] {
  const rng = createRng('exit-heads', opts.seed);
  // in a tidy: a variable copies its initial value, which would stay behind
  const variable = (init: () => tf.Tensor) => tf.tidy(() => tf.variable(init()));
  const glorot = (shape: [number, number]) => variable(() => tf.initializers.glorotUniform({ seed: rng.seed32() }).apply(shape) as tf.Tensor2D);
  const deepWidth = spec.blocks[spec.blocks.length - 1].filters;
  // The classifier's inputs: the block's output flattened, or its channels averaged.
  const outputs = measureSpec({ ...spec, dense: [] }, opts.inputShape, opts.numClasses).blockOutputs;
  return shallowExits(spec).map((exit) => {
    const [h, w, width] = outputs[exit - 1];
    const inputs = opts.head === 'gap' ? width : h * w * width;
    // zeros: an untrained head predicts uniformly and sends no gradient into the blocks it shares with the deeper exits
    return {
      exit,
      kernel: variable(() => tf.zeros([inputs, opts.numClasses])),
      bias: variable(() => tf.zeros([opts.numClasses])),
      adapter: width === deepWidth ? undefined : glorot([width, deepWidth]),
    };
  });
}

/**
 * A batch's loss: the deepest exit's (labels, and the teacher's logits when
 * given), plus every shallow exit's (1 - alpha) CE + alpha T^2 KL against the
 * deepest at T, plus hint times the mean squared difference between its
 * pooled features (adapted) and the deepest's. `shallow` is the shallow
 * exits' part alone (tests check that no gradient of it reaches the deepest
 * exit's own layers).
 */
export function selfExitsLoss(opts: {
  logits: tf.Tensor2D;
  /** Each block's output, the last block's included. */
  taps: tf.Tensor[];
  heads: readonly ExitHeadVariables[];
  head: ExitHead;
  labels: tf.Tensor1D;
  teacherLogits?: tf.Tensor2D;
  loss: KdLossOptions;
  hint: number;
}): { total: tf.Scalar; stats: tf.Tensor1D; shallow: tf.Scalar } {
  const { logits, taps, labels, loss } = opts;
  const deepest = kdLossWithStats(logits, opts.teacherLogits, labels, loss);
  const target = stopGradient(logits) as tf.Tensor2D;
  const deepFeatures = stopGradient(tf.mean(taps[taps.length - 1], [1, 2]));
  let shallow: tf.Tensor = tf.scalar(0);
  opts.heads.forEach((head, i) => {
    const features = tf.mean(taps[i], [1, 2]) as tf.Tensor2D;
    const classifierInput = opts.head === 'gap' ? features : (tf.reshape(taps[i], [taps[i].shape[0], -1]) as tf.Tensor2D);
    const exitLogits = tf.add(tf.matMul(classifierInput, head.kernel), head.bias) as tf.Tensor2D;
    shallow = tf.add(shallow, kdLossWithStats(exitLogits, target, labels, loss).total);
    if (opts.hint > 0) {
      const adapted = head.adapter ? tf.matMul(features, head.adapter) : features;
      shallow = tf.add(shallow, tf.mul(tf.mean(tf.square(tf.sub(adapted, deepFeatures))), opts.hint));
    }
  });
  return { total: tf.add(deepest.total, shallow) as tf.Scalar, stats: deepest.stats, shallow: shallow as tf.Scalar };
}

/**
 * Self-distillation from deep to shallow, Be Your Own Teacher (Zhang et al.
 * 2019): an exit after every block but the last (its head: the block's
 * output flattened, or globally averaged, into one dense layer), trained
 * with the network. The deepest exit (the
 * student's own head) learns from the labels, and from the offline teacher
 * when the candidate says exitsTeacher; every shallower exit learns
 * (1 - alpha) CE + alpha T^2 KL(deepest at T || exit at T) + hint * the mean
 * squared difference between its pooled features, through a linear adapter
 * where the widths differ, and the deepest exit's. The deepest exit's
 * logits and features are targets: no gradient flows into it through them.
 * After training each exit is a student of its own (exitModels).
 */
export const selfExitsScheme: TrainingScheme = {
  usesTeacherLogits: true,
  prepare: ({ model, optimizer, train, training, spec, numClasses, inputShape }) => {
    const exits = shallowExits(spec);
    if (spec.kind !== 'cnn' || exits.length === 0) {
      throw new KdError('SPEC_INVALID', 'self-exits needs a cnn, separable or teacher-copy student of at least 2 blocks');
    }
    const ends = blockEnds(spec);
    const forward = tappedForward(model, spec, ends, { dropoutSeed: dropoutSeeds(training.seed, optimizer) });
    const head = training.exitHead ?? 'flatten';
    const heads = createExitHeads(spec, { inputShape, numClasses, head, seed: training.seed });
    const headVariables = heads.flatMap((h) => (h.adapter ? [h.kernel, h.bias, h.adapter] : [h.kernel, h.bias]));
    const vars = [...trainableVariables(model), ...headVariables];
    const loss = { temperature: training.temperature, alpha: training.alpha };
    const hint = training.hint ?? 0;
    const teacher = training.exitsTeacher ? train.teacherLogits : undefined;
    return {
      step: (indices) => {
        const xb = tf.gather(train.x, indices);
        const labels = tf.gather(train.y, indices) as tf.Tensor1D;
        const teacherLogits = teacher ? (tf.gather(teacher, indices) as tf.Tensor2D) : undefined;
        return minimizeWithStats(optimizer, vars, () => {
          const { logits, taps } = forward(xb, true);
          const { total, stats } = selfExitsLoss({ logits, taps, heads, head, labels, teacherLogits, loss, hint });
          return { total, stats };
        });
      },
      exitModels: (shape) =>
        heads.map((h) => {
          const exitStudent = exitSpec(spec, h.exit, head);
          const exitModel = buildModel(exitStudent, shape);
          // the first blocks' layers as trained, then the exit's classifier (the adapter serves training only)
          const blockWeights = model.layers.slice(0, ends[h.exit - 1] + 1).flatMap((layer) => layer.getWeights());
          exitModel.setWeights([...blockWeights, h.kernel, h.bias]);
          return { exit: h.exit, spec: exitStudent, model: exitModel };
        }),
      state: {
        save: () => headVariables,
        restore: (tensors) => {
          if (tensors.length !== headVariables.length) throw new KdError('INTERNAL', `self-exits: ${tensors.length} head tensors to restore, the heads have ${headVariables.length}`);
          headVariables.forEach((v, i) => {
            if (!tf.util.arraysEqual(v.shape, tensors[i].shape)) throw new KdError('INTERNAL', `self-exits: head tensor ${i} has shape [${tensors[i].shape}], expected [${v.shape}]`);
            v.assign(tensors[i]);
          });
        },
      },
      dispose: () => tf.dispose(headVariables),
    };
  },
};
