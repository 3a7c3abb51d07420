import * as tf from '@tensorflow/tfjs';
import { stopGradient } from './fake-quant';
import { studentForward } from './forward';
import type { Forward } from './forward';
import type { BatchStep } from './loop';
import { kdLossWithStats, minimizeWithStats } from './loss';
import type { KdLossOptions } from './loss';
import type { ResidentData } from './distill-step';
import { trainableVariables } from './distill-step';

/**
 * Online distillation, Deep Mutual Learning (Zhang et al. 2018): a
 * teacher-side network and the student train together from scratch; each
 * learns from the labels and from the other's softened predictions, which
 * count as targets (no gradient flows into the peer through them). One
 * optimizer step updates both networks' variables.
 */
export function onlineStep(opts: {
  student: tf.LayersModel;
  studentForward: Forward;
  peer: tf.LayersModel;
  optimizer: tf.Optimizer;
  data: ResidentData;
  loss: KdLossOptions;
}): BatchStep {
  const vars = [...trainableVariables(opts.student), ...trainableVariables(opts.peer)];
  const peerForward = studentForward(opts.peer);
  return (indices) => {
    const xb = tf.gather(opts.data.x, indices);
    const yb = tf.gather(opts.data.y, indices) as tf.Tensor1D;
    return minimizeWithStats(opts.optimizer, vars, () => {
      const s = opts.studentForward(xb, true);
      const p = peerForward(xb, true);
      const toStudent = kdLossWithStats(s, stopGradient(p) as tf.Tensor2D, yb, opts.loss);
      const toPeer = kdLossWithStats(p, stopGradient(s) as tf.Tensor2D, yb, opts.loss);
      // the step minimises both losses; the curve records the student's
      return { total: tf.add(toStudent.total, toPeer.total) as tf.Scalar, stats: toStudent.stats };
    });
  };
}
