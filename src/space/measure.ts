import { KdError } from '../core/errors';
import type { Precision, Quantization } from '../core/precision';
import type { ConcreteSpec } from './student';
import type { LayerSummary } from '../core/metrics';

export interface ArchitectureSize {
  params: number;
  macs: number;
  layers: LayerSummary[];
  /**
   * Element count of each weight tensor in the built model's order: the
   * trainable ones layer by layer (kernel, bias, ...), then the batch norms'
   * moving statistics. `float`: kept at float32 whatever the precision.
   */
  weightTensors: WeightTensor[];
  /** A cnn's output shape [height, width, channels] after each block (its pool included); empty for an MLP. */
  blockOutputs: number[][];
}

export interface WeightTensor {
  size: number;
  channels: number;
  float?: boolean;
}

/** What batch normalization adds per channel: gamma and beta (trained), moving mean and variance (tracked). */
const NORM_TENSORS_PER_LAYER = 4;

function convOut(size: number, kernel: number, padding: 'same' | 'valid'): number {
  return padding === 'same' ? size : size - kernel + 1;
}

/**
 * params and MACs counted from the spec alone (DESIGN.md rule 8), so a
 * candidate can be rejected against a size constraint before it is built.
 * A test checks these against tf.LayersModel.countParams().
 */
export function measureSpec(spec: ConcreteSpec, inputShape: readonly number[], numClasses: number): ArchitectureSize {
  const layers: LayerSummary[] = [];
  const weightTensors: WeightTensor[] = [];
  const movingStatistics: WeightTensor[] = [];
  const blockOutputs: number[][] = [];
  let shape = [...inputShape];
  const addWeights = (...tensors: Array<[number, number]>) => {
    for (const [size, channels] of tensors) weightTensors.push({ size, channels });
  };
  /**
   * Batch normalization over `channels` of `elements` values: a multiply-add
   * per value (what a runtime computes unless it folds the layer into the
   * one before). Its four vectors stay float32 in every precision.
   */
  const addNorm = (outputShape: number[]) => {
    const channels = outputShape[outputShape.length - 1];
    const elements = outputShape.reduce((a, b) => a * b, 1);
    layers.push({ type: 'batch_normalization', outputShape, params: NORM_TENSORS_PER_LAYER * channels, macs: elements });
    weightTensors.push({ size: channels, channels, float: true }, { size: channels, channels, float: true });
    movingStatistics.push({ size: channels, channels, float: true }, { size: channels, channels, float: true });
  };
  if (spec.kind === 'cnn') {
    if (shape.length !== 3) {
      throw new KdError('TEACHER_MISMATCH', `a cnn student needs image input [height, width, channels]; the dataset's input shape is [${shape.join(', ')}]`);
    }
    for (const [i, block] of spec.blocks.entries()) {
      const [h, w, c] = shape;
      const oh = convOut(h, block.kernel, block.padding);
      const ow = convOut(w, block.kernel, block.padding);
      if (oh < 1 || ow < 1) {
        throw new KdError('SPEC_INVALID', `blocks.${i}: a ${block.kernel}x${block.kernel} '${block.padding}' convolution does not fit a ${h}x${w} input`);
      }
      const k2 = block.kernel * block.kernel;
      // A convolution followed by batch normalization has no bias: the norm's beta is one.
      const bias = block.norm ? 0 : block.filters;
      const biasTensor: Array<[number, number]> = bias ? [[bias, bias]] : [];
      if (block.op === 'conv') {
        const params = k2 * c * block.filters + bias;
        layers.push({ type: 'conv2d', outputShape: [oh, ow, block.filters], params, macs: oh * ow * k2 * c * block.filters });
        addWeights([k2 * c * block.filters, block.filters], ...biasTensor);
      } else {
        const params = k2 * c + c * block.filters + bias;
        const macs = oh * ow * k2 * c + oh * ow * c * block.filters;
        layers.push({ type: 'separable_conv2d', outputShape: [oh, ow, block.filters], params, macs });
        addWeights([k2 * c, c], [c * block.filters, block.filters], ...biasTensor);
      }
      shape = [oh, ow, block.filters];
      if (block.norm) {
        addNorm(shape);
        layers.push({ type: 'activation', outputShape: shape, params: 0, macs: 0 });
      }
      if (block.pool) {
        const ph = Math.floor(oh / 2);
        const pw = Math.floor(ow / 2);
        if (ph < 1 || pw < 1) throw new KdError('SPEC_INVALID', `blocks.${i}: 2x2 pooling does not fit a ${oh}x${ow} feature map`);
        shape = [ph, pw, block.filters];
        layers.push({ type: block.pool === 'avg' ? 'average_pooling2d' : 'max_pooling2d', outputShape: shape, params: 0, macs: 0 });
      }
      blockOutputs.push(shape);
    }
    if (spec.head === 'gap') {
      shape = [shape[2]];
      layers.push({ type: 'global_average_pooling2d', outputShape: shape, params: 0, macs: 0 });
    }
  }
  let width = shape.reduce((a, b) => a * b, 1);
  if (shape.length > 1) layers.push({ type: 'flatten', outputShape: [width], params: 0, macs: 0 });
  const hidden = spec.kind === 'mlp' ? spec.hidden : spec.dense;
  for (const units of hidden) {
    const bias = spec.denseNorm ? 0 : units;
    layers.push({ type: 'dense', outputShape: [units], params: width * units + bias, macs: width * units });
    addWeights([width * units, units], ...(bias ? [[bias, bias] as [number, number]] : []));
    if (spec.denseNorm) {
      addNorm([units]);
      layers.push({ type: 'activation', outputShape: [units], params: 0, macs: 0 });
    }
    width = units;
  }
  if (spec.dropout > 0) layers.push({ type: 'dropout', outputShape: [width], params: 0, macs: 0 });
  layers.push({ type: 'dense', outputShape: [numClasses], params: width * numClasses + numClasses, macs: width * numClasses });
  addWeights([width * numClasses, numClasses], [numClasses, numClasses]);
  return {
    params: layers.reduce((a, l) => a + l.params, 0),
    macs: layers.reduce((a, l) => a + l.macs, 0),
    layers,
    weightTensors: [...weightTensors, ...movingStatistics],
    blockOutputs,
  };
}

/** Bytes per stored weight at each precision. */
export const BYTES_PER_WEIGHT: Record<Precision, number> = { float32: 4, float16: 2, int8: 1 };
/** An int8 quantization group stores its scale as float32 (symmetric: the zero point is 0). */
export const INT8_GROUP_OVERHEAD_BYTES = 4;

/**
 * Stored weight bytes at the given precision (DESIGN.md rule 8): every weight
 * at its precision (batch norms' vectors at float32), plus a scale per int8 group (one per tensor, or
 * one per output channel with per-channel quantization).
 */
export function storedBytes(weightTensors: readonly WeightTensor[], precision: Precision, granularity: Quantization): number {
  let bytes = 0;
  for (const t of weightTensors) {
    const stored = t.float ? 'float32' : precision;
    bytes += t.size * BYTES_PER_WEIGHT[stored];
    if (stored === 'int8') bytes += (granularity === 'per-channel' ? t.channels : 1) * INT8_GROUP_OVERHEAD_BYTES;
  }
  return bytes;
}
