import { loadDataset } from '../datasets/load';
import { loadTeacher, trainBuiltinTeacher } from '../distill/teacher';
import { initBackend } from '../model/backend';
import type { CommonOptions } from '../runtime/prepare-run';
import type { Log } from '../core/log';

/** `kdsearch teacher`: trains (or with --retrain, retrains) the built-in teacher. */
export async function teacherCommand(opts: CommonOptions & { retrain: boolean }, log: Log) {
  const backend = await initBackend(opts.backend);
  log(`backend: ${backend}`);
  const dataset = await loadDataset(opts.dataset, { dataDir: opts.dataDir, log });
  const teacher = opts.retrain
    ? await trainBuiltinTeacher({ dataset, dataDir: opts.dataDir, backend, log })
    : await loadTeacher({ dataset, dataDir: opts.dataDir, backend, log });
  await teacher.dispose();
  return { backend, dataset: dataset.source, source: teacher.source, accuracy: teacher.accuracy, params: teacher.params, macs: teacher.macs };
}
