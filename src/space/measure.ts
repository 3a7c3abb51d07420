import { KdError } from '../core/errors';
import type { Precision, Quantization } from '../core/precision';
import type { ConcreteSpec } from './student';
import type { LayerSummary } from '../core/metrics';

export interface ArchitectureSize {
  params: number;
  macs: number;
  layers: LayerSummary[];
  /** Element count of each weight tensor, in build order (kernel, bias, ...). */
  weightTensors: Array<{ size: number; channels: number }>;
}

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
  const weightTensors: ArchitectureSize['weightTensors'] = [];
  let shape = [...inputShape];
  const addWeights = (...tensors: Array<[number, number]>) => {
    for (const [size, channels] of tensors) weightTensors.push({ size, channels });
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
      if (block.op === 'conv') {
        const params = k2 * c * block.filters + block.filters;
        layers.push({ type: 'conv2d', outputShape: [oh, ow, block.filters], params, macs: oh * ow * k2 * c * block.filters });
        addWeights([k2 * c * block.filters, block.filters], [block.filters, block.filters]);
      } else {
        const params = k2 * c + c * block.filters + block.filters;
        const macs = oh * ow * k2 * c + oh * ow * c * block.filters;
        layers.push({ type: 'separable_conv2d', outputShape: [oh, ow, block.filters], params, macs });
        addWeights([k2 * c, c], [c * block.filters, block.filters], [block.filters, block.filters]);
      }
      shape = [oh, ow, block.filters];
      if (block.pool) {
        const ph = Math.floor(oh / 2);
        const pw = Math.floor(ow / 2);
        if (ph < 1 || pw < 1) throw new KdError('SPEC_INVALID', `blocks.${i}: 2x2 pooling does not fit a ${oh}x${ow} feature map`);
        shape = [ph, pw, block.filters];
        layers.push({ type: 'max_pooling2d', outputShape: shape, params: 0, macs: 0 });
      }
    }
  }
  let width = shape.reduce((a, b) => a * b, 1);
  if (shape.length > 1) layers.push({ type: 'flatten', outputShape: [width], params: 0, macs: 0 });
  const hidden = spec.kind === 'mlp' ? spec.hidden : spec.dense;
  for (const units of hidden) {
    layers.push({ type: 'dense', outputShape: [units], params: width * units + units, macs: width * units });
    addWeights([width * units, units], [units, units]);
    width = units;
  }
  if (spec.dropout > 0) layers.push({ type: 'dropout', outputShape: [width], params: 0, macs: 0 });
  layers.push({ type: 'dense', outputShape: [numClasses], params: width * numClasses + numClasses, macs: width * numClasses });
  addWeights([width * numClasses, numClasses], [numClasses, numClasses]);
  return {
    params: layers.reduce((a, l) => a + l.params, 0),
    macs: layers.reduce((a, l) => a + l.macs, 0),
    layers,
    weightTensors,
  };
}

/** Bytes per stored weight at each precision. */
export const BYTES_PER_WEIGHT: Record<Precision, number> = { float32: 4, float16: 2, int8: 1 };
/** An int8 quantization group stores its scale as float32 (symmetric: the zero point is 0). */
export const INT8_GROUP_OVERHEAD_BYTES = 4;

/**
 * Stored weight bytes at the given precision (DESIGN.md rule 8): every weight
 * at its precision, plus a scale per int8 group (one per tensor, or
 * one per output channel with per-channel quantization).
 */
export function storedBytes(
  weightTensors: ReadonlyArray<{ size: number; channels: number }>,
  precision: Precision,
  granularity: Quantization,
): number {
  let bytes = 0;
  for (const t of weightTensors) {
    bytes += t.size * BYTES_PER_WEIGHT[precision];
    if (precision === 'int8') bytes += (granularity === 'per-channel' ? t.channels : 1) * INT8_GROUP_OVERHEAD_BYTES;
  }
  return bytes;
}
