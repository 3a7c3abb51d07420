import type { onnx } from 'onnx-proto';
import type { ConcreteSpec, ConvBlock } from '../space/student';

/** The architecture of an ONNX teacher as a kdsearch spec, or why it has none. */
export type OnnxArchitecture = { spec: ConcreteSpec } | { unmappable: string };

const attr = (node: onnx.INodeProto, name: string) => node.attribute?.find((a) => a.name === name);
const ints = (node: onnx.INodeProto, name: string): number[] | undefined => attr(node, name)?.ints?.map(Number);
const int = (node: onnx.INodeProto, name: string, fallback: number): number => {
  const a = attr(node, name);
  return a?.i !== undefined && a.i !== null ? Number(a.i) : fallback;
};

/** The size of an initializer's first dimension (a Conv's output channels, a Gemm's outputs under transB). */
function dims(model: onnx.IModelProto, name: string | undefined): number[] | undefined {
  const t = model.graph?.initializer?.find((i) => i.name === name);
  return t?.dims?.map(Number);
}

/**
 * Reads an ONNX graph that is a chain of the layers kdsearch builds, as a
 * spec: Conv (square kernel, stride 1, no or centred padding, then Relu),
 * a depthwise Conv followed by a 1x1 Conv (a separable block), MaxPool
 * 2x2 / 2, Flatten or Reshape, Gemm (or MatMul + Add) with Relu between
 * them, Dropout, Identity, a final Softmax. The spec is the teacher's
 * shape with fresh weights: what born-again students, teacher-copies and
 * the online scheme's teacher-side network build. Anything else is named.
 */
export function onnxArchitecture(model: onnx.IModelProto): OnnxArchitecture {
  const nodes = (model.graph?.node ?? []).filter((n) => n.opType !== 'Identity' && n.opType !== 'Constant');
  const blocks: ConvBlock[] = [];
  const dense: number[] = [];
  let dropout = 0;
  let flat = false;
  const where = (i: number) => `the ${nodes[i].opType} node${nodes[i].name ? ` "${nodes[i].name}"` : ''}`;
  const refuse = (i: number, why: string): OnnxArchitecture => ({ unmappable: `${where(i)}: ${why}` });
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i];
    switch (node.opType) {
      case 'Conv': {
        if (flat) return refuse(i, 'a convolution after the flatten');
        const k = ints(node, 'kernel_shape') ?? dims(model, node.input?.[1])?.slice(2);
        const strides = ints(node, 'strides') ?? [1, 1];
        const pads = ints(node, 'pads') ?? [0, 0, 0, 0];
        if (!k || k.length !== 2 || k[0] !== k[1]) return refuse(i, 'not a square 2-D kernel');
        if (strides.some((s) => s !== 1) || (ints(node, 'dilations') ?? [1, 1]).some((d) => d !== 1)) return refuse(i, 'stride or dilation other than 1');
        const padding = pads.every((p) => p === 0) ? 'valid' : k[0] % 2 === 1 && pads.every((p) => p === (k[0] - 1) / 2) ? 'same' : undefined;
        if (!padding) return refuse(i, `padding [${pads.join(', ')}] is neither none nor centred`);
        const out = dims(model, node.input?.[1])?.[0];
        if (!out) return refuse(i, 'its weight is not an initializer');
        const group = int(node, 'group', 1);
        if (group > 1) {
          // A depthwise convolution: kdsearch's separable block when a 1x1 Conv and a Relu follow.
          const point = nodes[i + 1];
          const filters = point?.opType === 'Conv' ? dims(model, point.input?.[1])?.[0] : undefined;
          if (!filters || (ints(point, 'kernel_shape') ?? [1, 1]).some((v) => v !== 1) || nodes[i + 2]?.opType !== 'Relu') {
            return refuse(i, 'a grouped convolution not followed by a 1x1 Conv and a Relu (a separable block)');
          }
          blocks.push({ op: 'sepconv', filters, kernel: k[0], padding, pool: false });
          i += 2;
        } else {
          if (nodes[i + 1]?.opType !== 'Relu') return refuse(i, 'a convolution without a following Relu');
          blocks.push({ op: 'conv', filters: out, kernel: k[0], padding, pool: false });
          i += 1;
        }
        break;
      }
      case 'MaxPool': {
        const k = ints(node, 'kernel_shape');
        const s = ints(node, 'strides');
        if (!blocks.length || blocks[blocks.length - 1].pool || k?.join() !== '2,2' || s?.join() !== '2,2') return refuse(i, 'only a 2x2, stride-2 pool right after a convolution maps');
        blocks[blocks.length - 1].pool = true;
        break;
      }
      case 'Flatten':
      case 'Reshape':
        flat = true;
        break;
      case 'Gemm':
      case 'MatMul': {
        const w = dims(model, node.input?.[1]);
        const units = w ? (node.opType === 'Gemm' && int(node, 'transB', 0) === 1 ? w[0] : w[1]) : undefined;
        if (!units) return refuse(i, 'its weight is not an initializer');
        if (node.opType === 'MatMul') {
          if (nodes[i + 1]?.opType !== 'Add') return refuse(i, 'a MatMul without its bias Add');
          i += 1;
        }
        dense.push(units);
        if (nodes[i + 1]?.opType === 'Relu') i += 1;
        break;
      }
      case 'Dropout':
        dropout = Math.max(dropout, attr(node, 'ratio')?.f ?? 0.5);
        break;
      case 'Softmax':
        if (i !== nodes.length - 1) return refuse(i, 'a softmax before the last layer');
        break;
      default:
        return refuse(i, `${node.opType} has no counterpart in kdsearch's student layers`);
    }
  }
  if (dense.length === 0) return { unmappable: 'the graph ends in no dense (Gemm / MatMul) classifier' };
  const hidden = dense.slice(0, -1);
  const common = { dropout: Math.min(0.9, dropout), precision: 'float32' as const, quantization: 'per-tensor' as const, qat: false };
  return { spec: blocks.length ? { kind: 'cnn', blocks, dense: hidden, ...common } : { kind: 'mlp', hidden, ...common } };
}
