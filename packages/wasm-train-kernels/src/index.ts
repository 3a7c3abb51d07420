/**
 * @kdsearch/wasm-train-kernels: training kernels for tfjs's wasm backend.
 * register() once the backend is loaded; every fast path asks capabilities().
 * The op wrappers have no side effects on import.
 */
export { register, REPLACED_KERNELS, ADDED_KERNELS } from './register';
export { capabilities } from './capabilities';
export type { Capabilities } from './capabilities';
export { KernelError } from './errors';
export type { KernelErrorCode } from './errors';
export { assertPinnedVersions, installedVersions, pinnedVersions } from './versions';
export { conv2dBiasRelu } from './kernels/FusedConv2D';
export type { ConvGeometry } from './kernels/FusedConv2D';
export { biasReluMaxPool, canBiasReluMaxPool } from './kernels/KdBiasReluMaxPool';
export { convReluPool, canConvReluPool } from './kernels/KdConvReluPool';
export type { ConvReluPoolAttrs } from './shared/conv-relu-pool';
export { reluBackprop } from './kernels/KdReluGrad';
export { reluBiasBackprop } from './kernels/KdReluGradBias';
export { distillLoss } from './kernels/KdDistillLoss';
export type { DistillLossAttrs } from './kernels/KdDistillLoss';
export { FusedAdam } from './kernels/KdAdamUpdate';
export { isUnit } from './shared/unit-stride';
