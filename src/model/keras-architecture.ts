import type { ConcreteSpec, ConvBlock } from '../space/student';
import { kerasLayers, sizePair } from './keras-topology';


/**
 * A TF.js (Keras) teacher's layers as a kdsearch spec when they are a chain
 * of what students are made of: Conv2D and SeparableConv2D (square kernel,
 * stride 1, relu), MaxPooling2D 2x2 / 2 after a convolution, Flatten, Dense
 * (relu between, the last one the classifier, any activation), Dropout.
 * What teacher-copies and the online peer build; undefined otherwise (then
 * born-again copies the topology as it is).
 */
export function kerasArchitecture(topology: Record<string, unknown>): ConcreteSpec | undefined {
  const layers = kerasLayers(topology);
  if (!layers) return undefined;
  const blocks: ConvBlock[] = [];
  const dense: number[] = [];
  let dropout = 0;
  for (const [i, layer] of layers.entries()) {
    const c = layer.config;
    const last = i === layers.length - 1;
    switch (layer.class_name) {
      case 'InputLayer':
        break;
      case 'Conv2D':
      case 'SeparableConv2D': {
        const k = sizePair(c.kernel_size, 1);
        const square = k[0] === k[1];
        const unit = sizePair(c.strides, 1).every((s) => s === 1) && sizePair(c.dilation_rate, 1).every((d) => d === 1);
        if (!square || !unit || c.activation !== 'relu' || c.use_bias === false || dense.length) return undefined;
        if (layer.class_name === 'SeparableConv2D' && c.depth_multiplier !== undefined && c.depth_multiplier !== 1) return undefined;
        blocks.push({ op: layer.class_name === 'Conv2D' ? 'conv' : 'sepconv', filters: Number(c.filters), kernel: k[0], padding: c.padding === 'same' ? 'same' : 'valid', pool: false });
        break;
      }
      case 'MaxPooling2D':
        if (!blocks.length || blocks[blocks.length - 1].pool || sizePair(c.pool_size, 2).join() !== '2,2' || sizePair(c.strides ?? c.pool_size, 2).join() !== '2,2') return undefined;
        blocks[blocks.length - 1].pool = true;
        break;
      case 'Flatten':
        break;
      case 'Dense':
        if (!last && c.activation !== 'relu') return undefined;
        dense.push(Number(c.units));
        break;
      case 'Dropout':
        dropout = Math.max(dropout, Number(c.rate ?? 0));
        break;
      default:
        return undefined;
    }
  }
  if (!dense.length) return undefined;
  const common = { dropout: Math.min(0.9, dropout), precision: 'float32' as const, quantization: 'per-tensor' as const, qat: false };
  return blocks.length ? { kind: 'cnn', blocks, dense: dense.slice(0, -1), ...common } : { kind: 'mlp', hidden: dense.slice(0, -1), ...common };
}
