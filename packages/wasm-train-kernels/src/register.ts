import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, KernelConfig } from '@tensorflow/tfjs-core';
import { markRegistered } from './capabilities';
import { addConfig } from './kernels/Add';
import { batchMatMulConfig } from './kernels/BatchMatMul';
import { castConfig } from './kernels/Cast';
import { conv2dConfig } from './kernels/Conv2D';
import { conv2dBackpropFilterConfig } from './kernels/Conv2DBackpropFilter';
import { conv2dBackpropInputConfig } from './kernels/Conv2DBackpropInput';
import { depthwiseBackpropFilterConfig } from './kernels/DepthwiseConv2dNativeBackpropFilter';
import { depthwiseBackpropInputConfig } from './kernels/DepthwiseConv2dNativeBackpropInput';
import { fusedConv2dConfig, fusedConv2dGradient } from './kernels/FusedConv2D';
import { gatherV2Config } from './kernels/GatherV2';
import { identityConfig } from './kernels/Identity';
import { adamUpdateConfig } from './kernels/KdAdamUpdate';
import { biasReluMaxPoolConfig, biasReluMaxPoolGradient } from './kernels/KdBiasReluMaxPool';
import { biasReluMaxPoolGradConfig } from './kernels/KdBiasReluMaxPoolGrad';
import { convReluPoolConfig, convReluPoolGradient } from './kernels/KdConvReluPool';
import { convReluPoolGradConfig } from './kernels/KdConvReluPoolGrad';
import { distillLossConfig, distillLossGradient } from './kernels/KdDistillLoss';
import { reluGradConfig } from './kernels/KdReluGrad';
import { reluGradBiasConfig } from './kernels/KdReluGradBias';
import { maxPoolConfig } from './kernels/MaxPool';
import { maxPoolGradConfig } from './kernels/MaxPoolGrad';
import { reluGradient } from './kernels/Relu';
import { sumConfig } from './kernels/Sum';
import { captureOriginal } from './shared/original';
import { assertPinnedVersions } from './versions';

/** The backend's kernels this package replaces (each keeps the original to delegate to). */
export const REPLACED_KERNELS: readonly KernelConfig[] = [
  conv2dConfig,
  fusedConv2dConfig,
  conv2dBackpropInputConfig,
  maxPoolConfig,
  maxPoolGradConfig,
  batchMatMulConfig,
  gatherV2Config,
  sumConfig,
  addConfig,
  identityConfig,
  castConfig,
];

/** Kernels the backend does not have: the depthwise gradients, the filter gradient, and this package's own fused ops. */
export const ADDED_KERNELS: readonly KernelConfig[] = [
  conv2dBackpropFilterConfig,
  depthwiseBackpropFilterConfig,
  depthwiseBackpropInputConfig,
  reluGradConfig,
  reluGradBiasConfig,
  biasReluMaxPoolConfig,
  biasReluMaxPoolGradConfig,
  convReluPoolConfig,
  convReluPoolGradConfig,
  adamUpdateConfig,
  distillLossConfig,
];

/** Gradients of this package's ops and of FusedConv2D, which tfjs never records (they hold for every backend). */
const GRADIENTS: readonly GradConfig[] = [fusedConv2dGradient, biasReluMaxPoolGradient, convReluPoolGradient, distillLossGradient];

let reluOriginal: { config: GradConfig | undefined } | undefined;

/**
 * Puts the kernels into tfjs's registry for the wasm backend, and the
 * gradients of their ops for every backend (the fused ops' gradients also
 * run on cpu, where the ops fall back to tfjs's own kernels). Call it after
 * loading @tensorflow/tfjs (whose gradients it extends: tfjs-core alone
 * registers none) and @tensorflow/tfjs-backend-wasm, before tf.setBackend('wasm'),
 * and again after any other code re-registers wasm kernels; it is
 * idempotent. Without the wasm backend loaded it registers the gradients
 * only. Throws (BACKEND_UNAVAILABLE) when the installed tfjs is not the
 * pinned version.
 */
export function register(): void {
  assertPinnedVersions();
  for (const gradient of GRADIENTS) tf.registerGradient(gradient);
  // ReLU's gradient is replaced for every backend (tfjs keeps one per kernel
  // name): the replacement runs the original wherever the kernels are not active.
  reluOriginal ??= { config: tf.getGradient('Relu') };
  tf.registerGradient(reluGradient(reluOriginal.config));
  if (!tf.findBackendFactory('wasm')) return;
  for (const config of [...REPLACED_KERNELS, ...ADDED_KERNELS]) {
    const original = captureOriginal(config.kernelName);
    if (tf.getKernel(config.kernelName, 'wasm')) tf.unregisterKernel(config.kernelName, 'wasm');
    // The backend binds its C++ entry points in setupFunc, which runs on every
    // setBackend for the registered kernel only: keep it, or delegating fails.
    tf.registerKernel({ ...config, setupFunc: original?.setupFunc });
  }
  markRegistered();
}
