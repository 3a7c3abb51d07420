/** One split of a dataset: `n` samples, row-major features, integer labels. */
export interface Split {
  /** Features, n * featureSize values in [0, 1] for images. */
  x: Float32Array;
  /** Class index per sample. */
  y: Int32Array;
  n: number;
}

export interface Dataset {
  /** How the user named it: "mnist", "idx:DIR", "csv:FILE". */
  source: string;
  /** [height, width, channels] for images, [features] for tabular data. */
  inputShape: number[];
  numClasses: number;
  /** Class names by index, where the data has them (image folders: the folder names, alphabetical). */
  classNames?: string[];
  train: Split;
  test: Split;
  /** Content hash of both splits: keys the teacher-logits cache. */
  fingerprint: string;
}

export function featureSize(inputShape: readonly number[]): number {
  return inputShape.reduce((a, b) => a * b, 1);
}
