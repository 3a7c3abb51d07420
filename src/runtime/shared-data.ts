import type { Dataset, Split } from '../datasets/types';
import type { SharedData } from './task';

function share(view: Float32Array | Int32Array): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(view.byteLength);
  new Uint8Array(sab).set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  return sab;
}

/**
 * Copies the dataset and the teacher logits into SharedArrayBuffers once, in
 * the main thread, so workers never re-read or copy them (DESIGN.md rule 4).
 */
export function shareData(dataset: Dataset, logits: Float32Array | undefined): SharedData {
  return {
    source: dataset.source,
    fingerprint: dataset.fingerprint,
    inputShape: dataset.inputShape,
    numClasses: dataset.numClasses,
    trainN: dataset.train.n,
    testN: dataset.test.n,
    trainX: share(dataset.train.x),
    trainY: share(dataset.train.y),
    testX: share(dataset.test.x),
    testY: share(dataset.test.y),
    logits: logits ? share(logits) : null,
  };
}

/** Zero-copy views of shared data as a Dataset. */
export function datasetView(d: SharedData): { dataset: Dataset; logits?: Float32Array } {
  const split = (x: SharedArrayBuffer, y: SharedArrayBuffer, n: number): Split => ({ x: new Float32Array(x), y: new Int32Array(y), n });
  return {
    dataset: {
      source: d.source,
      fingerprint: d.fingerprint,
      inputShape: d.inputShape,
      numClasses: d.numClasses,
      train: split(d.trainX, d.trainY, d.trainN),
      test: split(d.testX, d.testY, d.testN),
    },
    logits: d.logits ? new Float32Array(d.logits) : undefined,
  };
}
