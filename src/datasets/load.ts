import { datasetRequest } from '../core/dataset-spec';
import type { DatasetSpec } from '../core/dataset-spec';
import { KdError } from '../core/errors';
import type { Log } from '../core/log';
import { loadCsvDataset } from './csv';
import { loadIdxDataset } from './idx';
import { loadImageFolder } from './images';
import { loadEmbeddedMnist } from './mnist-embedded';
import type { Dataset } from './types';

export const DATASET_HELP = 'mnist (embedded, the default), idx:DIR (a folder of the four MNIST IDX files), csv:FILE (or .csv.gz) or images:DIR (a folder of class folders of images)';

/** Resolves a dataset spec: "mnist", "idx:DIR", "csv:FILE" or "images:DIR", with its options. */
export async function loadDataset(spec: DatasetSpec, opts: { dataDir: string; log?: Log }): Promise<Dataset> {
  const { source, options } = datasetRequest(spec);
  const after = (prefix: string) => (source.startsWith(prefix) && source.length > prefix.length ? source.slice(prefix.length) : undefined);
  const misplaced = (fields: Array<keyof typeof options>, kind: string) => {
    const given = fields.filter((f) => options[f] !== undefined);
    if (given.length) throw new KdError('USAGE', `dataset "${source}": ${given.join(', ')} applies to ${kind} only`);
  };
  if (source === 'mnist') {
    misplaced(['labelColumn', 'imageSize', 'channels', 'skipBadImages'], 'csv: or images: datasets');
    return loadEmbeddedMnist({ dataDir: opts.dataDir });
  }
  const idx = after('idx:');
  if (idx) {
    misplaced(['labelColumn', 'imageSize', 'channels', 'skipBadImages'], 'csv: or images: datasets');
    return loadIdxDataset(idx);
  }
  const csv = after('csv:');
  if (csv) {
    misplaced(['imageSize', 'channels', 'skipBadImages'], 'images: datasets');
    return loadCsvDataset(csv, { labelColumn: options.labelColumn });
  }
  const images = after('images:');
  if (images) {
    misplaced(['labelColumn'], 'csv: datasets');
    return loadImageFolder(images, { ...options, dataDir: opts.dataDir, log: opts.log ?? (() => {}) });
  }
  throw new KdError('USAGE', `--dataset "${source}": expected ${DATASET_HELP}`);
}
