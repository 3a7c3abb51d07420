import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { KdError } from '../core/errors';
import { measureWarmAndAlone } from './latency';
import { onnxArchitecture } from './onnx-architecture';
import type { OnnxArchitecture } from './onnx-architecture';
import type { AdaptiveOptions, LatencyStats } from './latency';

/** How the teacher's input is laid out: images channels-first (PyTorch's NCHW) or last (NHWC), or a flat feature vector. */
type Layout = 'nchw' | 'nhwc' | 'flat';

const BATCH = 256;

function shapeText(dims: ReadonlyArray<number | string>): string {
  return `[${dims.map(String).join(', ')}]`;
}

/** Does a dimension (a number, or a symbolic name such as "batch") accept `size`? */
const fits = (dim: number | string | undefined, size: number) => typeof dim !== 'number' || dim === size;

/** The layout that makes the model's input dims accept kdsearch's [height, width, channels] or [features]; PyTorch's NCHW first. */
function layoutFor(dims: ReadonlyArray<number | string>, inputShape: readonly number[]): Layout | undefined {
  if (inputShape.length === 3 && dims.length === 4) {
    const [h, w, c] = inputShape;
    if (fits(dims[1], c) && fits(dims[2], h) && fits(dims[3], w)) return 'nchw';
    if (fits(dims[1], h) && fits(dims[2], w) && fits(dims[3], c)) return 'nhwc';
    return undefined;
  }
  const size = inputShape.reduce((a, b) => a * b, 1);
  if (dims.length === 2 && fits(dims[1], size)) return 'flat';
  return undefined;
}

/** NHWC rows to NCHW, for `n` samples of [h, w, c]. */
function toNchw(x: Float32Array, n: number, [h, w, c]: readonly number[]): Float32Array {
  const out = new Float32Array(x.length);
  const plane = h * w;
  for (let s = 0; s < n; s++) {
    const base = s * plane * c;
    for (let p = 0; p < plane; p++) for (let k = 0; k < c; k++) out[base + k * plane + p] = x[base + p * c + k];
  }
  return out;
}

/** Every row a probability distribution (non-negative, summing to 1): a softmax output. */
function looksLikeProbabilities(values: Float32Array, classes: number): boolean {
  for (let r = 0; r < values.length / classes; r++) {
    let sum = 0;
    for (let k = 0; k < classes; k++) {
      const v = values[r * classes + k];
      if (v < 0 || v > 1) return false;
      sum += v;
    }
    if (Math.abs(sum - 1) > 1e-3) return false;
  }
  return true;
}

/**
 * A teacher exported to ONNX (typically by torch.onnx.export), run by
 * onnxruntime-node on the CPU with one thread. kdsearch's data is NHWC; an
 * NCHW model (PyTorch's) gets it transposed. A model that ends in a Softmax
 * node, or whose rows are probability distributions, gives
 * log-probabilities, which are logits up to a per-row constant.
 */
export class OnnxTeacherModel {
  private probabilities?: boolean;

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly file: string,
    private readonly inputShape: readonly number[],
    private readonly layout: Layout,
    readonly numClasses: number,
    /** Weights counted from the graph's initializers. */
    readonly params: number,
    readonly opTypes: readonly string[],
    /** The teacher's layers as a kdsearch spec (for born-again, teacher-copy, online), or why they have none. */
    readonly architecture: OnnxArchitecture,
  ) {}

  static async open(file: string, opts: { inputShape: readonly number[]; numClasses: number; datasetSource: string }): Promise<OnnxTeacherModel> {
    let model: onnx.ModelProto;
    try {
      model = onnx.ModelProto.decode(readFileSync(file));
    } catch (err) {
      throw new KdError('TEACHER_INVALID', `${file}: not a readable ONNX model (${(err as Error).message})`);
    }
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    } catch (err) {
      throw new KdError('TEACHER_INVALID', `${file}: onnxruntime cannot load it (${(err as Error).message})`);
    }
    const input = session.inputMetadata[0];
    const output = session.outputMetadata[0];
    const inputDims = input && input.isTensor ? input.shape : [];
    const layout = layoutFor(inputDims, opts.inputShape);
    if (!layout) {
      await session.release();
      throw new KdError(
        'TEACHER_MISMATCH',
        `${file}: the teacher's input ${input?.name ?? ''} has shape ${shapeText(inputDims)} but dataset ${opts.datasetSource} provides [${opts.inputShape.join(', ')}] per sample (NHWC; NCHW models are transposed)`,
      );
    }
    const outDims = output && output.isTensor ? output.shape : [];
    const classes = outDims[outDims.length - 1];
    if (typeof classes === 'number' && classes !== opts.numClasses) {
      await session.release();
      throw new KdError('TEACHER_MISMATCH', `${file}: the teacher outputs ${classes} classes (${shapeText(outDims)}) but dataset ${opts.datasetSource} has ${opts.numClasses}`);
    }
    const params = (model.graph?.initializer ?? []).reduce((sum, t) => sum + (t.dims ?? []).reduce((a, d) => a * Number(d), 1), 0);
    return new OnnxTeacherModel(session, file, opts.inputShape, layout, opts.numClasses, params, (model.graph?.node ?? []).map((n) => n.opType ?? ''), onnxArchitecture(model));
  }

  private async run(x: Float32Array, n: number): Promise<Float32Array> {
    const data = this.layout === 'nchw' ? toNchw(x, n, this.inputShape) : x;
    const dims = this.layout === 'flat' ? [n, x.length / n] : this.layout === 'nchw' ? [n, this.inputShape[2], this.inputShape[0], this.inputShape[1]] : [n, ...this.inputShape];
    const input = new ort.Tensor('float32', data, dims);
    const result = await this.session.run({ [this.session.inputNames[0]]: input });
    const out = result[this.session.outputNames[0]];
    const values = out.data as Float32Array;
    if (values.length !== n * this.numClasses) {
      throw new KdError('TEACHER_MISMATCH', `${this.file}: the teacher's output has shape [${out.dims.join(', ')}] for ${n} samples, expected [${n}, ${this.numClasses}]`);
    }
    return Float32Array.from(values);
  }

  /** The teacher's logits for `n` samples in kdsearch's layout, in batches. */
  async logits(x: Float32Array, n: number): Promise<Float32Array> {
    const per = x.length / n;
    const out = new Float32Array(n * this.numClasses);
    for (let start = 0; start < n; start += BATCH) {
      const size = Math.min(BATCH, n - start);
      out.set(await this.run(x.subarray(start * per, (start + size) * per), size), start * this.numClasses);
    }
    this.probabilities ??= this.opTypes[this.opTypes.length - 1] === 'Softmax' || looksLikeProbabilities(out.subarray(0, Math.min(n, BATCH) * this.numClasses), this.numClasses);
    if (this.probabilities) for (let i = 0; i < out.length; i++) out[i] = Math.log(Math.max(out[i], 1e-12));
    return out;
  }

  /** Batch-1 inference time in onnxruntime, as for a student (model/latency.ts). */
  async latency(opts: AdaptiveOptions = {}): Promise<LatencyStats> {
    const sample = new Float32Array(this.inputShape.reduce((a, b) => a * b, 1)).fill(0.5);
    return measureWarmAndAlone(async () => void (await this.run(sample, 1)), opts);
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
