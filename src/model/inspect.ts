import type * as tf from '@tensorflow/tfjs';
import type { LayerSummary } from '../core/metrics';

const LAYER_TYPES: Record<string, string> = {
  Dense: 'dense',
  Conv2D: 'conv2d',
  SeparableConv2D: 'separable_conv2d',
  DepthwiseConv2D: 'depthwise_conv2d',
  MaxPooling2D: 'max_pooling2d',
  AveragePooling2D: 'average_pooling2d',
  GlobalAveragePooling2D: 'global_average_pooling2d',
  BatchNormalization: 'batch_normalization',
  Activation: 'activation',
  Flatten: 'flatten',
  Dropout: 'dropout',
};

/**
 * params and MACs of an already built model, walked layer by layer. Used for
 * models that come from disk (a user's teacher, born-again from its
 * topology); specs are measured without building (measure.ts).
 */
export function inspectModel(model: tf.LayersModel): { params: number; macs: number; layers: LayerSummary[] } {
  const layers: LayerSummary[] = model.layers.map((layer) => {
    const out = (Array.isArray(layer.outputShape[0]) ? layer.outputShape[0] : layer.outputShape) as Array<number | null>;
    const outputShape = out.slice(1).map((d) => d ?? -1);
    const outPixels = outputShape.length === 3 ? outputShape[0] * outputShape[1] : 1;
    const size = (shape: number[] | undefined) => (shape ?? []).reduce((a, b) => a * b, 1);
    const weights = layer.getWeights().map((w) => w.shape);
    let macs = 0;
    const className = layer.getClassName();
    if (className === 'Dense') macs = size(weights[0]);
    else if (className === 'Conv2D') macs = outPixels * size(weights[0]);
    else if (className === 'DepthwiseConv2D') macs = outPixels * size(weights[0]);
    else if (className === 'SeparableConv2D') {
      macs = outPixels * (size(weights[0]) + size(weights[1]));
    } else if (className === 'BatchNormalization') macs = size(outputShape); // a multiply-add per value, as measure.ts counts it
    return { type: LAYER_TYPES[className] ?? className, outputShape, params: layer.countParams(), macs };
  });
  return { params: model.countParams(), macs: layers.reduce((a, l) => a + l.macs, 0), layers };
}
