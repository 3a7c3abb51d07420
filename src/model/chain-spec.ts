import type { ConcreteSpec, ConvBlock } from '../space/student';

/** What a teacher read layer by layer is made of (keras-architecture.ts, onnx-architecture.ts). */
export interface LayerChain {
  blocks: ConvBlock[];
  /** Global average pooling after the last block (else a flatten). */
  gap: boolean;
  /** The hidden dense layers' units (the classifier is not one). */
  hidden: number[];
  /** Batch norm after every hidden dense layer. */
  denseNorm: boolean;
  dropout: number;
}

/** The spec of a teacher's chain of layers: its shape, with fresh float32 weights; a CNN when it has blocks, else an MLP. */
export function chainSpec(chain: LayerChain): ConcreteSpec {
  const common = {
    dropout: Math.min(0.9, chain.dropout),
    ...(chain.denseNorm && chain.hidden.length ? { denseNorm: true as const } : {}),
    precision: 'float32' as const,
    quantization: 'per-tensor' as const,
    qat: false,
  };
  return chain.blocks.length
    ? { kind: 'cnn', blocks: chain.blocks, ...(chain.gap ? { head: 'gap' as const } : {}), dense: chain.hidden, ...common }
    : { kind: 'mlp', hidden: chain.hidden, ...common };
}
