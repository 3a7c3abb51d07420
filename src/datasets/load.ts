import { KdError } from '../core/errors';
import { loadCsvDataset } from './csv';
import { loadIdxDataset } from './idx';
import { loadEmbeddedMnist } from './mnist-embedded';
import type { Dataset } from './types';

export const DATASET_HELP = 'mnist (embedded, the default), idx:DIR (a folder of the four MNIST IDX files) or csv:FILE';

/** Resolves a `--dataset` value: "mnist", "idx:DIR" or "csv:FILE". */
export function loadDataset(spec: string, opts: { dataDir: string }): Dataset {
  if (spec === 'mnist') return loadEmbeddedMnist({ dataDir: opts.dataDir });
  if (spec.startsWith('idx:') && spec.length > 4) return loadIdxDataset(spec.slice(4));
  if (spec.startsWith('csv:') && spec.length > 4) return loadCsvDataset(spec.slice(4));
  throw new KdError('USAGE', `--dataset "${spec}": expected ${DATASET_HELP}`);
}
