import * as tf from '@tensorflow/tfjs';
import { trainableVariables } from '../distill-step';
import { stopGradient } from '../fake-quant';
import { dropoutSeeds, studentForward } from '../forward';
import { kdLossWithStats, minimizeWithStats } from '../loss';
import type { TrainingScheme } from './scheme';

/**
 * Online distillation, Deep Mutual Learning (Zhang et al. 2018): a
 * teacher-side network (a fresh copy of the teacher's architecture) and the
 * student train together from scratch; each learns from the labels and from
 * the other's softened predictions, which count as targets (no gradient
 * flows into the peer through them). One optimizer step updates both
 * networks' variables; the curve records the student's loss.
 */
export const onlineScheme: TrainingScheme = {
  usesTeacherLogits: false,
  prepare: ({ model, forward, optimizer, train, training, buildPeer, evaluate }) => {
    const peer = buildPeer(training.seed + 1);
    const peerForward = studentForward(peer, undefined, { dropoutSeed: dropoutSeeds(training.seed + 1, optimizer) });
    const vars = [...trainableVariables(model), ...trainableVariables(peer)];
    const loss = { temperature: training.temperature, alpha: training.alpha };
    return {
      step: (indices) => {
        const xb = tf.gather(train.x, indices);
        const yb = tf.gather(train.y, indices) as tf.Tensor1D;
        return minimizeWithStats(optimizer, vars, () => {
          const s = forward(xb, true);
          const p = peerForward(xb, true);
          const toStudent = kdLossWithStats(s, stopGradient(p) as tf.Tensor2D, yb, loss);
          const toPeer = kdLossWithStats(p, stopGradient(s) as tf.Tensor2D, yb, loss);
          return { total: tf.add(toStudent.total, toPeer.total) as tf.Scalar, stats: toStudent.stats };
        });
      },
      extraMetrics: async () => ({ peerAccuracy: await evaluate(peer) }),
      state: { save: () => peer.getWeights(), restore: (tensors) => peer.setWeights([...tensors]) },
      dispose: () => peer.dispose(),
    };
  },
};
