import type { ConcreteSpec, ConvBlock } from '../space/student';
import { kerasLayers, sizePair } from './keras-topology';
import type { KerasLayer } from './keras-topology';
import { chainSpec } from './chain-spec';


/** A layer that is a ReLU: an Activation or ReLU layer (without a cap or slope). */
function isRelu(layer: KerasLayer | undefined): boolean {
  if (!layer) return false;
  if (layer.class_name === 'Activation') return layer.config.activation === 'relu';
  return layer.class_name === 'ReLU' && layer.config.max_value == null && !layer.config.negative_slope;
}

const isFinalSoftmax = (layer: KerasLayer) => layer.class_name === 'Softmax' || (layer.class_name === 'Activation' && layer.config.activation === 'softmax');

/**
 * Where a convolution or dense layer's ReLU is: its own activation (no
 * norm), or after a BatchNormalization over the last axis that follows it
 * with a linear activation. The index of the last layer it spans, or
 * undefined when neither.
 */
function reluAfter(layers: KerasLayer[], i: number): { norm: boolean; end: number } | undefined {
  const c = layers[i].config;
  if (c.activation === 'relu') return { norm: false, end: i };
  const norm = layers[i + 1];
  const axis = norm?.config.axis;
  const lastAxis = axis === -1 || axis === undefined || (Array.isArray(axis) && axis.length === 1 && axis[0] === -1) || axis === 3;
  if ((c.activation ?? 'linear') === 'linear' && norm?.class_name === 'BatchNormalization' && lastAxis && norm.config.center !== false && norm.config.scale !== false && isRelu(layers[i + 2])) {
    return { norm: true, end: i + 2 };
  }
  return undefined;
}

/**
 * A TF.js (Keras) teacher's layers as a kdsearch spec when they are a chain
 * of what students are made of: Conv2D and SeparableConv2D (square kernel,
 * stride 1) with their ReLU, or a BatchNormalization then the ReLU;
 * MaxPooling2D or AveragePooling2D 2x2 / 2 after a convolution;
 * GlobalAveragePooling2D after the last one; Flatten; Dense (relu between,
 * or a BatchNormalization and an Activation; the last one the classifier,
 * any activation); Dropout. What teacher-copies and the online peer build;
 * undefined otherwise (then born-again copies the topology as it is).
 */
export function kerasArchitecture(topology: Record<string, unknown>): ConcreteSpec | undefined {
  const layers = kerasLayers(topology);
  if (!layers) return undefined;
  const blocks: ConvBlock[] = [];
  const dense: Array<{ units: number; norm: boolean }> = [];
  let dropout = 0;
  let gap = false;
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i];
    const c = layer.config;
    // The classifier: the last Dense, perhaps followed by a softmax (probabilities are read as logs of them).
    const last = layers.slice(i + 1).every(isFinalSoftmax);
    switch (layer.class_name) {
      case 'InputLayer':
        break;
      case 'Conv2D':
      case 'SeparableConv2D': {
        const k = sizePair(c.kernel_size, 1);
        const square = k[0] === k[1];
        const unit = sizePair(c.strides, 1).every((s) => s === 1) && sizePair(c.dilation_rate, 1).every((d) => d === 1);
        const relu = reluAfter(layers, i);
        if (!square || !unit || !relu || (c.use_bias === false && !relu.norm) || dense.length || gap) return undefined;
        if (layer.class_name === 'SeparableConv2D' && c.depth_multiplier !== undefined && c.depth_multiplier !== 1) return undefined;
        blocks.push({
          op: layer.class_name === 'Conv2D' ? 'conv' : 'sepconv',
          filters: Number(c.filters),
          kernel: k[0],
          padding: c.padding === 'same' ? 'same' : 'valid',
          pool: false,
          ...(relu.norm ? { norm: true as const } : {}),
        });
        i = relu.end;
        break;
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D':
        if (gap || !blocks.length || blocks[blocks.length - 1].pool || sizePair(c.pool_size, 2).join() !== '2,2' || sizePair(c.strides ?? c.pool_size, 2).join() !== '2,2') return undefined;
        if (c.padding === 'same') return undefined;
        blocks[blocks.length - 1].pool = layer.class_name === 'MaxPooling2D' ? true : 'avg';
        break;
      case 'GlobalAveragePooling2D':
        if (!blocks.length || gap || dense.length) return undefined;
        gap = true;
        break;
      case 'Flatten':
        break;
      case 'Dense': {
        if (last) {
          dense.push({ units: Number(c.units), norm: false });
          break;
        }
        const relu = reluAfter(layers, i);
        if (!relu) return undefined;
        dense.push({ units: Number(c.units), norm: relu.norm });
        i = relu.end;
        break;
      }
      case 'Dropout':
        dropout = Math.max(dropout, Number(c.rate ?? 0));
        break;
      case 'Activation':
      case 'Softmax':
        if (!isFinalSoftmax(layer) || i !== layers.length - 1) return undefined;
        break;
      default:
        return undefined;
    }
  }
  if (!dense.length) return undefined;
  const hidden = dense.slice(0, -1);
  if (hidden.some((d) => d.norm !== hidden[0].norm)) return undefined;
  return chainSpec({ blocks, gap, hidden: hidden.map((d) => d.units), denseNorm: hidden[0]?.norm ?? false, dropout });
}
