import { join } from 'node:path';
import { writeAtomic } from '../core/data-dir';
import { KdError } from '../core/errors';
import { exportOnnx } from '../model/export-onnx';
import type { OnnxLayout } from '../model/export-onnx';
import { exportTfjs } from '../model/export-tfjs';
import { Store } from '../store/store';

export interface ExportOptions {
  db: string;
  name: string;
  trial: number;
  /** A shallow exit of a self-exits trial, instead of the trial. */
  exit?: number;
  format: 'onnx' | 'tfjs';
  out: string;
  layout: OnnxLayout;
}

/** `kdsearch export NAME --trial N`: a stored student as files for the runtime it ships to. */
export function exportCommand(opts: ExportOptions): { experiment: string; trial: number; exit?: number; format: string; files: string[]; notes: string[] } {
  const store = Store.open(opts.db, { readonly: true });
  try {
    const exp = store.getExperiment(opts.name);
    const trial = store.trial(exp, opts.trial);
    if (!trial) throw new KdError('USAGE', `--trial ${opts.trial}: experiment "${exp.name}" has no such trial`);
    if (opts.exit !== undefined && !trial.exits?.some((x) => x.exit === opts.exit)) {
      const has = trial.exits?.length ? `its exits are ${trial.exits.map((x) => x.exit).join(', ')}` : 'it has no shallow exits (only self-exits trials have them)';
      throw new KdError('USAGE', `--exit ${opts.exit}: trial ${opts.trial} of "${exp.name}" has no exit ${opts.exit}; ${has}`);
    }
    const weights = store.trialWeights(exp, opts.trial, opts.exit);
    if (!weights) throw new KdError('USAGE', `--trial ${opts.trial}: the trial is ${trial.state} and has no stored weights; export a COMPLETE trial (kdsearch front ${exp.name} lists them)`);
    const topology = weights.topology as Record<string, unknown>;
    const which = { experiment: exp.name, trial: opts.trial, ...(opts.exit === undefined ? {} : { exit: opts.exit }) };
    if (opts.format === 'onnx') {
      const name = `${exp.name}-trial-${opts.trial}${opts.exit === undefined ? '' : `-exit-${opts.exit}`}`;
      const { model, notes } = exportOnnx({ topology, manifest: weights.manifest, data: weights.data, layout: opts.layout, name });
      const file = join(opts.out, 'model.onnx');
      writeAtomic(file, model);
      return { ...which, format: 'onnx', files: [file], notes };
    }
    const { modelJson, weights: bin, notes } = exportTfjs({ topology, manifest: weights.manifest, data: weights.data });
    const files = [join(opts.out, 'model.json'), join(opts.out, 'weights.bin')];
    writeAtomic(files[1], bin);
    writeAtomic(files[0], JSON.stringify(modelJson));
    return { ...which, format: 'tfjs', files, notes };
  } finally {
    store.close();
  }
}
