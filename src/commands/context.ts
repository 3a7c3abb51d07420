import { loadDataset } from '../datasets/load';
import type { Dataset } from '../datasets/types';
import type { Log, Teacher } from '../distill/teacher';
import { loadTeacher, teacherLogits } from '../distill/teacher';
import type { BackendChoice, BackendName } from '../model/backend';
import { initBackend } from '../model/backend';

export interface CommonOptions {
  dataset: string;
  backend: BackendChoice;
  dataDir: string;
  teacher?: string;
}

export interface RunContext {
  backend: BackendName;
  dataset: Dataset;
  teacher: Teacher;
  /** Teacher logits on the full training split (cached on disk). */
  logits: Float32Array;
}

/** Everything a training command needs before its first student: backend, data, teacher, logits. */
export async function prepareRun(opts: CommonOptions, log: Log): Promise<RunContext> {
  const backend = await initBackend(opts.backend);
  log(`backend: ${backend}`);
  const dataset = loadDataset(opts.dataset, { dataDir: opts.dataDir });
  log(`dataset: ${dataset.source}, ${dataset.train.n} train / ${dataset.test.n} test, input [${dataset.inputShape.join(', ')}], ${dataset.numClasses} classes`);
  const teacher = await loadTeacher({ dataset, dataDir: opts.dataDir, path: opts.teacher, backend, log });
  log(`teacher: ${teacher.source}, ${teacher.params} params, ${(teacher.accuracy * 100).toFixed(2)}% test accuracy`);
  const logits = await teacherLogits({ teacher, dataset, dataDir: opts.dataDir, log });
  return { backend, dataset, teacher, logits };
}
