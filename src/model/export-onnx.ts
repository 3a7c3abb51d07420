import { onnx } from 'onnx-proto';
import type { WeightEntry } from '../core/weights';
import { KdError } from '../core/errors';
import { toFloat16Bits } from './float16';
import { dequantizeWeight } from './quantize';
import type { StoredWeight } from './quantize';
import { kerasLayers, sizePair } from './keras-topology';
import { unpackWeights } from './weights-pack';

export const ONNX_OPSET = 13;
export const ONNX_IR_VERSION = 7;
export type OnnxLayout = 'nhwc' | 'nchw';

const { DataType } = onnx.TensorProto;
const { AttributeType } = onnx.AttributeProto;


/** TF's 'same' padding as ONNX pads [top, left, bottom, right]: the odd pixel goes at the end. */
function samePads(inH: number, inW: number, k: [number, number], s: [number, number]): number[] {
  const total = (size: number, kk: number, ss: number) => Math.max((Math.ceil(size / ss) - 1) * ss + kk - size, 0);
  const th = total(inH, k[0], s[0]);
  const tw = total(inW, k[1], s[1]);
  return [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
}

const outSize = (size: number, k: number, s: number, padding: string) => (padding === 'same' ? Math.ceil(size / s) : Math.floor((size - k) / s) + 1);

/** [kh, kw, in, out] (TF) as [out, in, kh, kw] (ONNX). */
function oihw(values: Float32Array, [kh, kw, cin, cout]: readonly number[]): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let c = 0; c < cin; c++) for (let o = 0; o < cout; o++) out[((o * cin + c) * kh + i) * kw + j] = values[((i * kw + j) * cin + c) * cout + o];
  return out;
}

/** The input shape a stored topology was built for (its first layer's batch_input_shape, without the batch). */
function topologyInputShape(topology: Record<string, unknown>): number[] {
  const layers = kerasLayers(topology) ?? [];
  const shape = layers[0]?.config.batch_input_shape;
  if (!Array.isArray(shape) || shape.length < 2 || shape.slice(1).some((d) => typeof d !== 'number')) {
    throw new KdError('STORE_CORRUPT', 'the stored topology does not say its input shape (batch_input_shape of its first layer)');
  }
  return shape.slice(1) as number[];
}

/**
 * A stored student (its Keras topology, weight manifest and packed weights)
 * as an ONNX model, opset 13: the layers kdsearch builds (Conv2D,
 * SeparableConv2D, BatchNormalization, Activation, MaxPooling2D,
 * AveragePooling2D, GlobalAveragePooling2D, Flatten, Dense, Dropout) map
 * to Conv (depthwise with group = channels), BatchNormalization, Relu,
 * MaxPool, AveragePool, GlobalAveragePool, Flatten, Gemm. The
 * graph computes in NCHW; an 'nhwc' input (kdsearch's data layout, the
 * default) enters through a Transpose, and the feature map goes back to NHWC
 * before Flatten so the dense weights keep their row order. float16 weights
 * are float16 initializers with a Cast; int8 weights are int8 initializers
 * with a DequantizeLinear (per output channel with `axis` when so stored).
 */
export function exportOnnx(opts: {
  topology: Record<string, unknown>;
  manifest: readonly WeightEntry[];
  data: Uint8Array;
  /** Default: the shape the topology was built for. */
  inputShape?: readonly number[];
  layout?: OnnxLayout;
  name?: string;
}): { model: Uint8Array; notes: string[] } {
  const layout = opts.layout ?? 'nhwc';
  const inputShape = opts.inputShape ?? topologyInputShape(opts.topology);
  const layers = kerasLayers(opts.topology);
  if (!layers) throw new KdError('INTERNAL', 'the stored topology has no layer list (expected a Keras Sequential model)');
  // By name, not by position: a model lists its batch norms' moving statistics after every trained weight.
  const weights = new Map(unpackWeights(opts.manifest, opts.data).map((w) => [w.name, w]));
  const used = new Set<string>();
  const nodes: onnx.INodeProto[] = [];
  const initializers: onnx.ITensorProto[] = [];
  const notes = new Set<string>();
  let counter = 0;
  const fresh = (what: string) => `${what}_${counter++}`;
  const node = (opType: string, inputs: string[], attributes: onnx.IAttributeProto[] = []) => {
    const output = fresh(opType.toLowerCase());
    nodes.push({ opType, input: inputs, output: [output], name: output, attribute: attributes });
    return output;
  };
  const ints = (name: string, values: number[]): onnx.IAttributeProto => ({ name, type: AttributeType.INTS, ints: values });
  const int = (name: string, value: number): onnx.IAttributeProto => ({ name, type: AttributeType.INT, i: value });
  const takeWeight = (layer: string, what: string): StoredWeight => {
    const w = weights.get(`${layer}/${what}`);
    if (!w) throw new KdError('STORE_CORRUPT', `layer ${layer}: no stored weight named ${layer}/${what}`);
    used.add(w.name);
    return w;
  };
  /** An initializer from a stored weight (reshaped by `reorder`); float16 stays float16 behind a Cast. */
  const initializer = (w: StoredWeight, dims: number[], reorder?: (v: Float32Array) => Float32Array): string => {
    const name = fresh(w.name.replace(/[^A-Za-z0-9_]/g, '_'));
    if (w.precision === 'int8' && !w.min) {
      // int8 stays int8: the codes, one scale per group, zero point 0, and a DequantizeLinear (along the output channels when per channel).
      const codes = reorder ? reorder(Float32Array.from(w.data)) : Float32Array.from(w.data);
      const scales = w.scale!;
      const perChannel = scales.length > 1;
      const scaleDims = perChannel ? [scales.length] : [];
      initializers.push({ name: `${name}_q`, dims, dataType: DataType.INT8, rawData: Buffer.from(Int8Array.from(codes).buffer) });
      initializers.push({ name: `${name}_scale`, dims: scaleDims, dataType: DataType.FLOAT, rawData: Buffer.from(Float32Array.from(scales).buffer) });
      initializers.push({ name: `${name}_zero`, dims: scaleDims, dataType: DataType.INT8, rawData: Buffer.from(new Int8Array(scales.length).buffer) });
      // The output-channel axis in ONNX layouts: 0 for OIHW kernels and biases, 1 for a Gemm's [in, out] weight.
      const axis = dims.length === 2 ? 1 : 0;
      nodes.push({ opType: 'DequantizeLinear', input: [`${name}_q`, `${name}_scale`, `${name}_zero`], output: [name], name: `${name}_dequantize`, attribute: perChannel ? [int('axis', axis)] : [] });
      return name;
    }
    if (w.precision === 'int8') notes.add('int8 weights stored before int8 became symmetric are written dequantized, as float32 initializers');
    let values = dequantizeWeight(w);
    if (reorder) values = reorder(values);
    if (w.precision === 'float16') {
      // Every float16 value is exact in float32, so the bits come back unchanged.
      const bits = new Uint16Array(values.length);
      for (let i = 0; i < values.length; i++) bits[i] = toFloat16Bits(values[i]);
      initializers.push({ name: `${name}_f16`, dims, dataType: DataType.FLOAT16, rawData: Buffer.from(bits.buffer) });
      nodes.push({ opType: 'Cast', input: [`${name}_f16`], output: [name], name: `${name}_cast`, attribute: [int('to', DataType.FLOAT)] });
      return name;
    }
    initializers.push({ name, dims, dataType: DataType.FLOAT, rawData: Buffer.from(values.buffer, values.byteOffset, values.byteLength) });
    return name;
  };
  const activate = (x: string, activation: unknown, layer: string): string => {
    if (activation === undefined || activation === 'linear') return x;
    if (activation === 'relu') return node('Relu', [x]);
    if (activation === 'softmax') return node('Softmax', [x], [int('axis', 1)]);
    throw new KdError('INTERNAL', `layer ${layer}: activation "${String(activation)}" has no ONNX mapping in kdsearch`);
  };

  const image = inputShape.length === 3;
  const inputDims = image ? (layout === 'nhwc' ? ['batch', ...inputShape] : ['batch', inputShape[2], inputShape[0], inputShape[1]]) : ['batch', ...inputShape];
  let x = 'input';
  if (image && layout === 'nhwc') x = node('Transpose', [x], [ints('perm', [0, 3, 1, 2])]);
  let [h, w, c] = image ? inputShape : [1, 1, inputShape[0]];
  let nchw = image;
  let units = image ? 0 : inputShape[0];
  for (const layer of layers) {
    const cfg = layer.config;
    const name = String(cfg.name ?? layer.class_name);
    switch (layer.class_name) {
      case 'InputLayer':
      case 'Dropout':
        break;
      case 'Conv2D':
      case 'SeparableConv2D': {
        const k = sizePair(cfg.kernel_size, 1);
        const s = sizePair(cfg.strides, 1);
        const dil = sizePair(cfg.dilation_rate, 1);
        if (dil[0] !== 1 || dil[1] !== 1 || cfg.data_format === 'channels_first') throw new KdError('INTERNAL', `layer ${name}: dilation or channels_first has no ONNX mapping in kdsearch`);
        const padding = String(cfg.padding ?? 'valid');
        const pads = padding === 'same' ? samePads(h, w, k, s) : [0, 0, 0, 0];
        const geometry = [ints('kernel_shape', k), ints('strides', s), ints('pads', pads)];
        const filters = Number(cfg.filters);
        if (layer.class_name === 'Conv2D') {
          const kernel = takeWeight(name, 'kernel');
          const inputs = [x, initializer(kernel, [filters, c, k[0], k[1]], (v) => oihw(v, kernel.shape))];
          if (cfg.use_bias !== false) inputs.push(initializer(takeWeight(name, 'bias'), [filters]));
          x = node('Conv', inputs, geometry);
        } else {
          const depth = takeWeight(name, 'depthwise_kernel');
          const multiplier = depth.shape[3];
          // [kh, kw, C, M] -> [C*M, 1, kh, kw], one group per input channel.
          const dw = node('Conv', [x, initializer(depth, [c * multiplier, 1, k[0], k[1]], (v) => oihw(v, [k[0], k[1], 1, c * multiplier]))], [...geometry, int('group', c)]);
          const point = takeWeight(name, 'pointwise_kernel');
          const inputs = [dw, initializer(point, [filters, c * multiplier, 1, 1], (v) => oihw(v, point.shape))];
          if (cfg.use_bias !== false) inputs.push(initializer(takeWeight(name, 'bias'), [filters]));
          x = node('Conv', inputs, [ints('kernel_shape', [1, 1])]);
        }
        h = outSize(h, k[0], s[0], padding);
        w = outSize(w, k[1], s[1], padding);
        c = filters;
        x = activate(x, cfg.activation, name);
        break;
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        const k = sizePair(cfg.pool_size, 2);
        const s = sizePair(cfg.strides ?? cfg.pool_size, 2);
        const padding = String(cfg.padding ?? 'valid');
        const pads = padding === 'same' ? samePads(h, w, k, s) : [0, 0, 0, 0];
        // AveragePool's count_include_pad 0 (the default): TF averages over the pixels inside the image only.
        x = node(layer.class_name === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool', [x], [ints('kernel_shape', k), ints('strides', s), ints('pads', pads)]);
        h = outSize(h, k[0], s[0], padding);
        w = outSize(w, k[1], s[1], padding);
        break;
      }
      case 'GlobalAveragePooling2D':
        // [N, C, 1, 1] flattened to [N, C]: the channel order is the same in both layouts.
        x = node('Flatten', [node('GlobalAveragePool', [x])], [int('axis', 1)]);
        nchw = false;
        units = c;
        break;
      case 'BatchNormalization': {
        // Over the channels: axis 1 of an NCHW feature map, or of a dense layer's [N, units].
        if (cfg.center === false || cfg.scale === false) throw new KdError('INTERNAL', `layer ${name}: a batch norm without center or scale has no ONNX mapping in kdsearch`);
        const stats = ['gamma', 'beta', 'moving_mean', 'moving_variance'].map((what) => initializer(takeWeight(name, what), [nchw ? c : units]));
        x = node('BatchNormalization', [x, ...stats], [{ name: 'epsilon', type: AttributeType.FLOAT, f: Number(cfg.epsilon ?? 1e-3) }]);
        break;
      }
      case 'Activation':
        x = activate(x, cfg.activation, name);
        break;
      case 'Flatten':
        // Back to NHWC first: Keras flattens height, width, channels in that order, and the dense rows follow it.
        if (nchw) x = node('Transpose', [x], [ints('perm', [0, 2, 3, 1])]);
        nchw = false;
        x = node('Flatten', [x], [int('axis', 1)]);
        units = h * w * c;
        break;
      case 'Dense': {
        const kernel = takeWeight(name, 'kernel');
        const out = Number(cfg.units);
        const inputs = [x, initializer(kernel, [units, out])];
        if (cfg.use_bias !== false) inputs.push(initializer(takeWeight(name, 'bias'), [out]));
        x = activate(node('Gemm', inputs), cfg.activation, name);
        units = out;
        break;
      }
      default:
        throw new KdError('INTERNAL', `layer ${name}: ${layer.class_name} has no ONNX mapping in kdsearch`);
    }
  }
  if (used.size !== weights.size) throw new KdError('STORE_CORRUPT', `the topology used ${used.size} of ${weights.size} stored weights`);
  const dim = (d: number | string): onnx.TensorShapeProto.IDimension => (typeof d === 'number' ? { dimValue: d } : { dimParam: d });
  const tensorType = (dims: Array<number | string>) => ({ tensorType: { elemType: DataType.FLOAT, shape: { dim: dims.map(dim) } } });
  nodes.push({ opType: 'Identity', input: [x], output: ['logits'], name: 'logits' });
  const model = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'kdsearch',
    graph: {
      name: opts.name ?? 'kdsearch-student',
      node: nodes,
      initializer: initializers,
      input: [{ name: 'input', type: tensorType(inputDims) }],
      output: [{ name: 'logits', type: tensorType(['batch', units]) }],
    },
  });
  return { model: onnx.ModelProto.encode(model).finish(), notes: [...notes] };
}
