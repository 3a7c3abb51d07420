#!/usr/bin/env node
import { join } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { parseLabelColumn } from './core/dataset-spec';
import type { DatasetSpec } from './core/dataset-spec';
// Commands load what they need when they run: `kdsearch front` and `--help` do not pay for tfjs, Piscina or express.
import { DEFAULT_DATA_DIR, defaultDbPath } from './core/data-dir';
import { intArg, readStudentSpec, schemaArg } from './commands/options';
import { LATENCY_RUNTIMES } from './core/metrics';
import type { LatencyRuntime } from './core/metrics';
import { formatFrontReport, frontCommand } from './commands/front-report';
import { CONTROLLER_NAMES } from './search/controllers';
import type { ControllerName } from './search/controllers';
import { searchSpaceJsonSchema } from './space/json-schema';
import { DATASET_HELP } from './datasets/load';
import { ERROR_CODES, errorCodeOf } from './core/errors';
import { DEFAULT_HINT, DEFAULT_TRAINING, EXIT_HEADS, SCHEMES, TRAINING_FIELDS } from './core/training';
import type { ExitHead } from './core/training';
import type { Scheme } from './core/training';
import { untilSignal } from './commands/until-signal';
import { BACKEND_CHOICES } from './core/backends';
import type { BackendChoice } from './core/backends';

/** Progress and diagnostics go to stderr, so stdout carries only results (one JSON object with --json). */
const log = (line: string) => process.stderr.write(`${line}\n`);

interface GlobalFlags {
  dataset: string;
  labelColumn?: string;
  imageSize?: [number, number];
  channels?: '1' | '3';
  skipBadImages?: boolean;
  backend: BackendChoice;
  dataDir: string;
  teacher?: string;
  json?: boolean;
}

const DATA_DIR_HELP = 'where teachers, caches and results (kdsearch.db) are kept';
const DB_HELP = 'the SQLite database (default: <data-dir>/kdsearch.db)';

/** The database follows --data-dir unless --db names one. */
function dbPath(flags: { db?: string; dataDir: string }): string {
  return flags.db ?? defaultDbPath(flags.dataDir);
}

/** "HxW", e.g. 32x32. */
function imageSizeArg(value: string): [number, number] {
  const m = /^(\d{1,4})x(\d{1,4})$/.exec(value.trim());
  const size = m ? ([Number(m[1]), Number(m[2])] as [number, number]) : undefined;
  if (!size || size.some((v) => v < 1 || v > 1024)) throw new InvalidArgumentError('expected HEIGHTxWIDTH, each from 1 to 1024, e.g. 32x32.');
  return size;
}

/** --dataset and the options of how to read it, as one dataset spec (the shape a space's dataset: field has). */
function datasetSpecOf(flags: GlobalFlags): DatasetSpec {
  const options = {
    ...(flags.labelColumn !== undefined ? { labelColumn: parseLabelColumn(flags.labelColumn) } : {}),
    ...(flags.imageSize ? { imageSize: flags.imageSize } : {}),
    ...(flags.channels ? { channels: Number(flags.channels) as 1 | 3 } : {}),
    ...(flags.skipBadImages ? { skipBadImages: true } : {}),
  };
  return Object.keys(options).length ? { source: flags.dataset, ...options } : flags.dataset;
}

function addCommon(cmd: Command, opts: { teacher: boolean }): Command {
  cmd
    .option('--dataset <spec>', DATASET_HELP, 'mnist')
    .option('--label-column <name|number|last>', 'csv: the label column: a header name, a 1-based column number, or last')
    .option('--image-size <HxW>', 'images: resize every image to HEIGHTxWIDTH (default: the most common size)', imageSizeArg)
    .addOption(new Option('--channels <n>', 'images: 1 (grey) or 3 (RGB); default: from the images').choices(['1', '3']))
    .option('--skip-bad-images', 'images: leave out (and list) images that do not decode, instead of stopping')
    .addOption(new Option('--backend <name>', 'compute backend').choices(BACKEND_CHOICES).default('auto'))
    .option('--data-dir <dir>', DATA_DIR_HELP, DEFAULT_DATA_DIR)
    .option('--json', 'print one JSON object on stdout');
  if (opts.teacher) cmd.option('--teacher <model.json>', 'a TF.js layers model to distill from (default: the built-in teacher: a CNN for images, an MLP for feature vectors)');
  return cmd;
}

function print(value: unknown, json: boolean | undefined, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${human()}\n`);
}

export function buildProgram(): Command {
  const program = new Command('kdsearch')
    .description('Knowledge distillation + architecture search: find the best student for a teacher.')
    .showHelpAfterError()
    // Throw instead of exiting, so main() decides the exit code (2 for a bad flag).
    .exitOverride();

  addCommon(
    program
      .command('distill')
      .description('distill one student from the teacher and measure it')
      .requiredOption('--student <spec>', 'student spec: a JSON file (see examples/students/) or inline JSON')
      .option('--temperature <T>', 'softening temperature', schemaArg(TRAINING_FIELDS.temperature), DEFAULT_TRAINING.temperature)
      .option('--alpha <a>', 'weight of the distillation term (0 = from scratch)', schemaArg(TRAINING_FIELDS.alpha), DEFAULT_TRAINING.alpha)
      .option('--epochs <n>', 'training epochs', schemaArg(TRAINING_FIELDS.epochs), DEFAULT_TRAINING.epochs)
      .option('--batch-size <n>', 'batch size', schemaArg(TRAINING_FIELDS.batchSize), DEFAULT_TRAINING.batchSize)
      .option('--lr <rate>', 'Adam learning rate', schemaArg(TRAINING_FIELDS.learningRate), DEFAULT_TRAINING.learningRate)
      .option('--train-limit <n>', 'train on the first N training samples only', schemaArg(TRAINING_FIELDS.trainLimit))
      .option('--seed <s>', 'seed for initialisation and batch order', schemaArg(TRAINING_FIELDS.seed), DEFAULT_TRAINING.seed)
      .addOption(
        new Option('--scheme <name>', 'offline (fixed teacher), online (learn together), self (earlier epochs teach later ones) or self-exits (the deepest exit teaches an exit after every earlier block)')
          .choices(SCHEMES)
          .default('offline'),
      )
      .option('--hint <w>', "self-exits: weight of the L2 between a shallow exit's features and the deepest exit's", schemaArg(TRAINING_FIELDS.hint), DEFAULT_HINT)
      .option('--exits-teacher', 'self-exits: the deepest exit also learns from the offline teacher')
      .addOption(new Option('--exit-head <head>', "self-exits: a shallow exit's head, the block's output flattened or averaged (gap)").choices(EXIT_HEADS).default('flatten'))
      .addOption(
        new Option('--latency-runtime <runtime>', "where latency is measured: tfjs-wasm (tfjs on the active backend) or onnxruntime (onnxruntime-node on the student's ONNX export)")
          .choices(LATENCY_RUNTIMES)
          .default('tfjs-wasm'),
      ),
    { teacher: true },
  ).action(async (flags: GlobalFlags & { student: string; temperature: number; alpha: number; epochs: number; batchSize: number; lr: number; trainLimit?: number; seed: number; scheme: Scheme; hint: number; exitsTeacher?: boolean; exitHead: ExitHead; latencyRuntime: LatencyRuntime }) => {
    const spec = readStudentSpec(flags.student);
    const { distillCommand, formatDistillReport } = await import('./commands/distill');
    const report = await distillCommand(
      {
        ...flags,
        dataset: datasetSpecOf(flags),
        spec,
        training: {
          epochs: flags.epochs,
          batchSize: flags.batchSize,
          learningRate: flags.lr,
          temperature: flags.temperature,
          alpha: flags.alpha,
          seed: flags.seed,
          scheme: flags.scheme,
          trainLimit: flags.trainLimit,
          ...(flags.scheme === 'self-exits' ? { hint: flags.hint, exitsTeacher: flags.exitsTeacher ?? false, exitHead: flags.exitHead } : {}),
        },
      },
      log,
    );
    print(report, flags.json, () => formatDistillReport(report));
  });

  addCommon(
    program
      .command('teacher')
      .description('train the built-in teacher once (a CNN for images, an MLP for feature vectors; later runs reuse it from data/teachers/)')
      .option('--retrain', 'train again even when a saved teacher exists', false),
    { teacher: false },
  ).action(async (flags: GlobalFlags & { retrain: boolean }) => {
    const { teacherCommand } = await import('./commands/teacher');
    const result = await teacherCommand({ ...flags, dataset: datasetSpecOf(flags) }, log);
    print(result, flags.json, () => `teacher ${result.source}: ${(result.accuracy * 100).toFixed(2)}% test accuracy, ${result.params} params (${result.backend})`);
  });

  const searchFlags = (cmd: Command) =>
    cmd
      .option('--trials <n>', 'total trials of the experiment (default: the space\'s "trials")', intArg(1, 100000))
      .option('--workers <n>', 'worker threads (default: the number of cores); with --queue, trials in flight (default: the attached workers\' slots)', intArg(1, 256))
      .option('--queue <redis-url>', 'run trials on `kdsearch worker` processes anywhere, through BullMQ on this Redis: redis://[user:password@]host:port')
      .option('--time-limit <seconds>', 'per-trial wall-time limit; a trial over it is FAILED', intArg(1))
      .option('--memory-limit <mb>', 'per-worker JS heap limit in MB; a trial over it is FAILED', intArg(64))
      .option('--db <path>', DB_HELP);

  type SearchFlags = GlobalFlags & {
    space?: string;
    name?: string;
    controller?: ControllerName;
    seed?: number;
    trials?: number;
    workers?: number;
    timeLimit?: number;
    memoryLimit?: number;
    db?: string;
    queue?: string;
    allowSpaceChange?: boolean;
  };
  const runSearch = async (flags: SearchFlags, name?: string) => {
    const { searchCommand } = await import('./commands/search');
    const report = await searchCommand(
      {
        db: dbPath(flags),
        dataDir: flags.dataDir,
        backend: flags.backend,
        spaceFile: flags.space,
        name: name ?? flags.name,
        controller: flags.controller,
        seed: flags.seed,
        trials: flags.trials,
        workers: flags.workers,
        timeLimitSec: flags.timeLimit,
        memoryLimitMb: flags.memoryLimit,
        queue: flags.queue,
        allowSpaceChange: flags.allowSpaceChange ?? false,
        interactive: Boolean(process.stdout.isTTY && process.stderr.isTTY) && !flags.json,
      },
      log,
    );
    print(report, flags.json, () => formatFrontReport(report));
  };

  addCommon(
    searchFlags(
      program
        .command('search')
        .description('search a space for the best students; resumes when --name names an existing experiment')
        .requiredOption('--space <file>', 'search space (YAML or JSON), e.g. search-spaces/mnist-quick.yaml')
        .option('--name <name>', 'experiment name (default: the space name and the time)')
        .addOption(new Option('--controller <name>', 'search strategy (default: nsga2)').choices(CONTROLLER_NAMES))
        .option('--seed <s>', 'experiment seed (default: 0)', intArg(0))
        .option('--allow-space-change', 'resume even though the space file changed (the stored space is used)'),
    ),
    { teacher: false },
  ).action((flags: SearchFlags) => runSearch(flags));

  addCommon(
    searchFlags(program.command('resume').description('continue a stopped or finished experiment').argument('<name>', 'experiment name')),
    { teacher: false },
  ).action((name: string, flags: SearchFlags) => runSearch(flags, name));

  program
    .command('worker')
    .description('run the trials of searches started with --queue, on this machine, until Ctrl-C')
    .requiredOption('--queue <redis-url>', 'the Redis the searches enqueue on: redis://[user:password@]host:port')
    .option('--workers <n>', 'trials at once (default: the number of cores)', intArg(1, 256))
    .option('--memory-limit <mb>', 'per-worker JS heap limit in MB; a trial over it is FAILED', intArg(64))
    .option('--stall-timeout <seconds>', 'a trial whose worker stops answering this long is given to another worker', intArg(2, 3600), 30)
    .option('--data-dir <dir>', 'where the searches\' data is cached (checked against its hash on every use)', DEFAULT_DATA_DIR)
    .action(async (flags: { queue: string; workers?: number; memoryLimit?: number; stallTimeout: number; dataDir: string }) => {
      const { workerCommand } = await import('./commands/worker');
      const result = await workerCommand({ queue: flags.queue, workers: flags.workers, dataDir: flags.dataDir, memoryLimitMb: flags.memoryLimit, stallTimeoutSec: flags.stallTimeout }, log);
      log(`worker stopped after ${result.trials} trials`);
    });

  program
    .command('front')
    .description("print an experiment's current front from the database")
    .argument('<name>', 'experiment name')
    .option('--data-dir <dir>', DATA_DIR_HELP, DEFAULT_DATA_DIR)
    .option('--db <path>', DB_HELP)
    .option('--json', 'print one JSON object on stdout')
    .action((name: string, flags: { db?: string; dataDir: string; json?: boolean }) => {
      const report = frontCommand({ db: dbPath(flags), name });
      print(report, flags.json, () => formatFrontReport(report));
    });

  program
    .command('export')
    .description('write a stored student as files: ONNX (ONNX Runtime, TensorRT, OpenVINO, converters to TFLite) or TF.js')
    .argument('<name>', 'experiment name')
    .requiredOption('--trial <n>', 'the trial to export (kdsearch front NAME lists the front)', intArg(0))
    .option('--exit <k>', "a self-exits trial's shallow exit instead of the trial: the network up to block k and that exit's head, one output", intArg(1))
    .addOption(new Option('--format <format>', 'file format').choices(['onnx', 'tfjs']).default('onnx'))
    .addOption(new Option('--layout <layout>', 'ONNX input layout: nhwc like the data, or nchw like PyTorch').choices(['nhwc', 'nchw']).default('nhwc'))
    .option('--out <dir>', 'folder to write into (default: <data-dir>/exports/NAME-trial-N, or NAME-trial-N-exit-K)')
    .option('--data-dir <dir>', DATA_DIR_HELP, DEFAULT_DATA_DIR)
    .option('--db <path>', DB_HELP)
    .option('--json', 'print one JSON object on stdout')
    .action(async (name: string, flags: { trial: number; exit?: number; format: 'onnx' | 'tfjs'; layout: 'nhwc' | 'nchw'; out?: string; dataDir: string; db?: string; json?: boolean }) => {
      const { exportCommand } = await import('./commands/export');
      const out = flags.out ?? join(flags.dataDir, 'exports', `${name}-trial-${flags.trial}${flags.exit === undefined ? '' : `-exit-${flags.exit}`}`);
      const result = exportCommand({ db: dbPath(flags), name, trial: flags.trial, exit: flags.exit, format: flags.format, layout: flags.layout, out });
      const what = result.exit === undefined ? `trial ${result.trial}` : `exit ${result.exit} of trial ${result.trial}`;
      print(result, flags.json, () => [`${what} of ${result.experiment} as ${result.format}: ${result.files.join(', ')}`, ...result.notes.map((n) => `note: ${n}`)].join('\n'));
    });

  const serveFlags = (cmd: Command) =>
    cmd
      .option('--port <n>', 'port of the report (0 = any free port)', intArg(0, 65535), 3000)
      .option('--host <address>', 'address to bind; the default serves this machine only', '127.0.0.1');

  serveFlags(
    program
      .command('serve')
      .description('serve the report of every experiment in the database (read-only; with --device-bench it also stores device latency timings)')
      .option('--data-dir <dir>', DATA_DIR_HELP, DEFAULT_DATA_DIR)
      .option('--db <path>', DB_HELP)
      .option('--device-bench', "accept latency timings of the students from users' own devices, with a token printed at start (writes device timings only)", false),
  ).action(async (flags: { db?: string; dataDir: string; port: number; host: string; deviceBench: boolean }) => {
    const { startServer } = await import('./web/server');
    const server = await startServer({ ...flags, db: dbPath(flags) }, log);
    process.stdout.write(`${server.url}\n`);
    await untilSignal();
    await server.close();
  });

  addCommon(
    serveFlags(
      searchFlags(
        program
          .command('start')
          .description('the npm start job: search a space (default: the quick one) and serve its report meanwhile')
          .option('--space <file>', 'search space', 'search-spaces/mnist-quick.yaml')
          .option('--name <name>', 'experiment name (resumed when it exists)', 'mnist-quick')
          .addOption(new Option('--controller <name>', 'search strategy (default: nsga2)').choices(CONTROLLER_NAMES))
          .option('--seed <s>', 'experiment seed (default: 0)', intArg(0)),
      ),
    ),
    { teacher: false },
  ).action(async (flags: SearchFlags & { port: number; host: string }) => {
    const db = dbPath(flags);
    const [{ Store }, { startServer }] = await Promise.all([import('./store/store'), import('./web/server')]);
    Store.open(db).close(); // create and migrate, so the report can open it read-only
    const server = await startServer({ ...flags, db }, log);
    process.stderr.write(`\nOpen ${server.url} to watch the front while the search runs.\n\n`);
    try {
      await runSearch(flags);
    } catch (err) {
      await server.close();
      throw err;
    }
    log(`\nsearch finished; the report stays up at ${server.url} until Ctrl-C`);
    await untilSignal();
    await server.close();
  });

  addCommon(
    program
      .command('baseline')
      .description("train the from-scratch twin (alpha = 0) of each front member and show what distillation bought")
      .argument('<name>', 'experiment name')
      .option('--workers <n>', 'worker threads (default: the number of cores)', intArg(1, 256))
      .option('--db <path>', DB_HELP),
    { teacher: false },
  ).action(async (name: string, flags: GlobalFlags & { db?: string; workers?: number }) => {
    const { baselineCommand, formatBaselines } = await import('./commands/baseline');
    const rows = await baselineCommand({ db: dbPath(flags), name, dataDir: flags.dataDir, backend: flags.backend, workers: flags.workers }, log);
    print({ experiment: name, baselines: rows }, flags.json, () => formatBaselines(rows));
  });

  program
    .command('schema')
    .description('print the JSON Schema of search-space files (for editors)')
    .action(() => {
      process.stdout.write(`${JSON.stringify(searchSpaceJsonSchema(), null, 2)}\n`);
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has already printed its message.
      return err.exitCode === 0 ? 0 : 2;
    }
    const code = errorCodeOf(err);
    if (code) {
      log(`kdsearch: error [${code}]: ${(err as Error).message}`);
      return code === 'USAGE' ? 2 : code === 'INTERRUPTED' ? 130 : 1;
    }
    log(`kdsearch: unexpected error (${ERROR_CODES.INTERNAL}):`);
    log((err as Error).stack ?? String(err));
    return 70;
  }
}

if (require.main === module) {
  void main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
