import type { onnx } from 'onnx-proto';
import type { ConcreteSpec, ConvBlock } from '../space/student';
import { chainSpec } from './chain-spec';

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

/** The integer values of a constant (an initializer or a Constant node's tensor), when the graph has it. */
function constantInts(model: onnx.IModelProto, name: string | undefined): number[] | undefined {
  const fromNode = model.graph?.node?.find((n) => n.opType === 'Constant' && n.output?.includes(name ?? ''))?.attribute?.find((a) => a.name === 'value')?.t;
  const t = fromNode ?? model.graph?.initializer?.find((i) => i.name === name);
  if (!t) return undefined;
  if (t.int64Data?.length) return t.int64Data.map(Number);
  if (t.rawData?.length) {
    const raw = t.rawData;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    return Array.from({ length: raw.byteLength / 8 }, (_, k) => Number(view.getBigInt64(k * 8, true)));
  }
  return [];
}

/**
 * Reads an ONNX graph that is a chain of the layers kdsearch builds, as a
 * spec: Conv (square kernel, stride 1, no padding or 'same'), or a
 * depthwise Conv then a 1x1 Conv (a separable block), each with an optional
 * BatchNormalization, then Relu; MaxPool or AveragePool 2x2 / 2 after a
 * block; GlobalAveragePool (or ReduceMean over height and width) after the
 * last block; Flatten, Reshape or Squeeze (after a Transpose or not); a
 * Pad of nothing; Gemm (or MatMul + Add) with an
 * optional BatchNormalization and a Relu between them; Dropout, Identity, a
 * final Softmax. The spec is the teacher's shape with fresh weights: what
 * born-again students, teacher-copies and the online scheme's teacher-side
 * network build. Anything else is named.
 */
export function onnxArchitecture(model: onnx.IModelProto): OnnxArchitecture {
  const nodes = (model.graph?.node ?? []).filter((n) => n.opType !== 'Identity' && n.opType !== 'Constant');
  const blocks: ConvBlock[] = [];
  /** Each dense layer: its units, whether a batch norm follows it, and its node (for messages). */
  const dense: Array<{ units: number; norm: boolean; node: number }> = [];
  let dropout = 0;
  let flat = false;
  let gap = false;
  const where = (i: number) => `the ${nodes[i].opType} node${nodes[i].name ? ` "${nodes[i].name}"` : ''}`;
  const refuse = (i: number, why: string): OnnxArchitecture => ({ unmappable: `${where(i)}: ${why}` });
  /** Steps over a BatchNormalization at `j`: whether there was one. */
  const normAt = (j: number) => nodes[j]?.opType === 'BatchNormalization';
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i];
    switch (node.opType) {
      case 'Conv': {
        if (flat || gap) return refuse(i, 'a convolution after the flatten');
        const k = ints(node, 'kernel_shape') ?? dims(model, node.input?.[1])?.slice(2);
        const strides = ints(node, 'strides') ?? [1, 1];
        const pads = ints(node, 'pads') ?? [0, 0, 0, 0];
        if (!k || k.length !== 2 || k[0] !== k[1]) return refuse(i, 'not a square 2-D kernel');
        if (strides.some((v) => v !== 1) || (ints(node, 'dilations') ?? [1, 1]).some((d) => d !== 1)) return refuse(i, 'stride or dilation other than 1');
        // 'same' at stride 1 pads k - 1 in all, the odd one at the end (TF, PyTorch's padding='same', ONNX's SAME_UPPER).
        const before = Math.floor((k[0] - 1) / 2);
        const same = [before, before, k[0] - 1 - before, k[0] - 1 - before];
        const autoPad = attr(node, 'auto_pad')?.s;
        const autoPadName = autoPad ? new TextDecoder().decode(autoPad) : 'NOTSET';
        const padding =
          autoPadName === 'SAME_UPPER' || (autoPadName === 'NOTSET' && pads.join() === same.join()) ? 'same' : autoPadName === 'VALID' || (autoPadName === 'NOTSET' && pads.every((p) => p === 0)) ? 'valid' : undefined;
        if (!padding) return refuse(i, `padding [${pads.join(', ')}]${autoPadName !== 'NOTSET' ? ` (auto_pad ${autoPadName})` : ''} is neither none nor 'same' [${same.join(', ')}]`);
        const out = dims(model, node.input?.[1])?.[0];
        if (!out) return refuse(i, 'its weight is not an initializer');
        const group = int(node, 'group', 1);
        let j = i + 1;
        let filters = out;
        if (group > 1) {
          // A depthwise convolution (one filter per channel): kdsearch's separable block when a 1x1 Conv follows.
          const point = nodes[j];
          const pointFilters = point?.opType === 'Conv' ? dims(model, point.input?.[1])?.[0] : undefined;
          if (out !== group || !pointFilters || (ints(point, 'kernel_shape') ?? [1, 1]).some((v) => v !== 1) || int(point, 'group', 1) !== 1) {
            return refuse(i, 'a grouped convolution not followed by a 1x1 Conv (a separable block: one depthwise filter per channel, then the pointwise Conv)');
          }
          filters = pointFilters;
          j += 1;
        }
        const norm = normAt(j);
        if (norm) j += 1;
        if (nodes[j]?.opType !== 'Relu') {
          const after = `a convolution${norm ? ' and its batch norm' : ''}`;
          return nodes[j] ? refuse(j, `${nodes[j].opType} after ${after}, where kdsearch's blocks have a Relu`) : refuse(i, `${after} without a following Relu`);
        }
        blocks.push({ op: group > 1 ? 'sepconv' : 'conv', filters, kernel: k[0], padding, pool: false, ...(norm ? { norm: true as const } : {}) });
        i = j;
        break;
      }
      case 'MaxPool':
      case 'AveragePool': {
        const k = ints(node, 'kernel_shape');
        const st = ints(node, 'strides');
        const padded = (ints(node, 'pads') ?? []).some((p) => p !== 0) || int(node, 'ceil_mode', 0) !== 0;
        if (gap || !blocks.length || blocks[blocks.length - 1].pool || k?.join() !== '2,2' || st?.join() !== '2,2' || padded) {
          return refuse(i, 'only a 2x2, stride-2 pool without padding right after a convolution maps');
        }
        blocks[blocks.length - 1].pool = node.opType === 'MaxPool' ? true : 'avg';
        break;
      }
      case 'GlobalAveragePool':
      case 'ReduceMean': {
        if (node.opType === 'ReduceMean' && ints(node, 'axes')?.join() !== '2,3') return refuse(i, 'a mean over other axes than height and width');
        if (!blocks.length || gap || flat) return refuse(i, 'global average pooling maps only after the last convolution block');
        gap = true;
        break;
      }
      case 'Flatten':
      case 'Reshape':
      case 'Squeeze':
        flat = true;
        break;
      case 'Transpose':
        // A layout change: at the input (an NHWC graph) or before the flatten (weights are fresh, so its order does not matter).
        if (i !== 0 && !['Flatten', 'Reshape'].includes(nodes[i + 1]?.opType ?? '')) return refuse(i, 'a transpose other than at the input or before the flatten');
        break;
      case 'Pad': {
        // PyTorch writes AvgPool2d as a Pad (of nothing, without padding) and an AveragePool.
        const pads = constantInts(model, node.input?.[1]);
        if (!pads || pads.some((p) => p !== 0)) return refuse(i, 'padding other than none');
        break;
      }
      case 'Gemm':
      case 'MatMul': {
        const w = dims(model, node.input?.[1]);
        const units = w ? (node.opType === 'Gemm' && int(node, 'transB', 0) === 1 ? w[0] : w[1]) : undefined;
        if (!units) return refuse(i, 'its weight is not an initializer');
        const at = i;
        if (node.opType === 'MatMul') {
          if (nodes[i + 1]?.opType !== 'Add') return refuse(i, 'a MatMul without its bias Add');
          i += 1;
        }
        const norm = normAt(i + 1);
        if (norm) {
          if (nodes[i + 2]?.opType !== 'Relu') return refuse(i + 1, 'a batch norm after a dense layer maps only before its Relu');
          i += 1;
        }
        dense.push({ units, norm, node: at });
        if (nodes[i + 1]?.opType === 'Relu') i += 1;
        break;
      }
      case 'BatchNormalization':
        return refuse(i, 'a batch norm maps only between a convolution or dense layer and its Relu');
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
  const classifier = dense[dense.length - 1];
  if (classifier.norm) return refuse(classifier.node, 'a batch norm after the classifier');
  const hidden = dense.slice(0, -1);
  // One switch for every hidden dense layer: a teacher that normalizes some but not others has no spec.
  const odd = hidden.find((d) => d.norm !== hidden[0].norm);
  if (odd) return refuse(odd.node, `batch norm after ${hidden[0].norm ? 'the first hidden dense layer but not after this one' : 'this hidden dense layer but not the first'}`);
  return { spec: chainSpec({ blocks, gap, hidden: hidden.map((d) => d.units), denseNorm: hidden[0]?.norm ?? false, dropout }) };
}
