import * as tf from '@tensorflow/tfjs';
import { adamUpdateConfig } from './adam-update';
import { addConfig } from './add';
import { batchMatMulConfig } from './batch-mat-mul';
import { biasReluMaxPoolConfig, biasReluMaxPoolGradConfig } from './bias-relu-pool';
import { convReluPoolConfig, convReluPoolGradConfig } from './conv-relu-pool';
import { conv2dConfig, fusedConv2dConfig } from './conv2d';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter';
import { conv2dBackpropInputConfig } from './conv2d-backprop-input';
import { depthwiseBackpropFilterConfig } from './depthwise-backprop-filter';
import { depthwiseBackpropInputConfig } from './depthwise-backprop-input';
import { distillLossConfig, distillLossGradient } from './distill-loss';
import { gatherV2Config } from './gather';
import { identityConfig } from './identity';
import { maxPoolGradConfig } from './max-pool-grad';
import { maxPoolConfig } from './max-pool';
import { captureOriginal } from './original';
import { reluGradBiasKernelConfig, reluGradKernelConfig, reluGradient } from './relu-grad';
import { castConfig } from './cast';
import { sumConfig } from './sum';

const WASM_KERNELS = [
  conv2dConfig,
  fusedConv2dConfig,
  conv2dBackpropFilterConfig,
  conv2dBackpropInputConfig,
  depthwiseBackpropFilterConfig,
  depthwiseBackpropInputConfig,
  maxPoolGradConfig,
  batchMatMulConfig,
  gatherV2Config,
  sumConfig,
  identityConfig,
  castConfig,
  maxPoolConfig,
  addConfig,
  adamUpdateConfig,
  distillLossConfig,
  reluGradKernelConfig,
  reluGradBiasKernelConfig,
  biasReluMaxPoolConfig,
  biasReluMaxPoolGradConfig,
  convReluPoolConfig,
  convReluPoolGradConfig,
];

/**
 * The wasm backend ships no filter gradients for convolutions, so conv
 * students could not train on it; kdsearch adds them. It also replaces the
 * backend's kernels that a training step showed to be slow (bench/profile):
 * the input gradient, max-pool gradient, transposed matrix products, row
 * gathers, bias adds and bias-gradient sums, 2x2 pools, clones and casts. Replacements that delegate keep the backend's own function. KdAdamUpdate
 * and KdDistillLoss are kdsearch's own (src/distill/adam.ts, loss.ts).
 */
export function registerWasmGradientKernels(): void {
  for (const config of WASM_KERNELS) {
    const original = captureOriginal(config.kernelName);
    if (tf.getKernel(config.kernelName, 'wasm')) tf.unregisterKernel(config.kernelName, 'wasm');
    // The backend binds its C++ entry points in setupFunc, which runs on every
    // setBackend for the registered kernel only: keep it, or delegating fails.
    tf.registerKernel({ ...config, setupFunc: original?.setupFunc });
  }
  if (!tf.getGradient(distillLossGradient.kernelName)) tf.registerGradient(distillLossGradient);
  tf.registerGradient(reluGradient);
}
