import { createHash, timingSafeEqual } from 'node:crypto';
import { dirname, join } from 'node:path';
import { MIN_DEVICE_RUNS, deviceTimingsPostSchema } from '../core/device';
import { architectureSummary } from '../space/student';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import { errorCodeOf, formatIssues } from '../core/errors';
import { exportOnnx } from '../model/export-onnx';
import { exportTfjs } from '../model/export-tfjs';
import type { Experiment, Store } from '../store/store';
import { escapeHtml, scriptJson } from './escape';
import { chartQuery, dataQuery, exitParams, experimentParams, noQuery, tableQuery, tableSettings, trialParams } from './params';
import { ReportCache } from './report-cache';
import { dataJson, dataVersion, experimentData, experimentListRows, onDevice, trialPage, trialTable, withDevices } from './view-models';

const ROOT = join(__dirname, '..', '..', '..');

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** What serve --device-bench gives the app: the token a device must send, and the one writer it may use. */
export interface DeviceBench {
  token: string;
  writer: Pick<Store, 'recordDeviceTimings'>;
}
export const DEVICE_TOKEN_HEADER = 'X-Device-Token';
const DEVICE_POST_LIMIT = '64kb';
const deviceQuery = z.object({ token: z.string().max(200) }).strict();
const wasmFileParams = z.object({ file: z.enum(['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) });

/** Compares a token in constant time (digests of equal length, whatever was sent). */
function sameToken(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  return timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(token).digest());
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new HttpError(400, `bad ${what}:\n${formatIssues(r.error.issues)}`);
  return r.data;
}

/**
 * The report: read-only views of the store. Every route is a GET; route
 * parameters and query strings are validated; downloads are built from the
 * database, never from a path the client names.
 */
export function createApp(store: Store, cache = new ReportCache(store), opts: { deviceBench?: DeviceBench } = {}): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('view engine', 'ejs');
  app.set('views', join(ROOT, 'views'));
  // The one escape helper of every template (ejs's <%= %> escapes too; this is for HTML built in a template).
  app.locals.esc = escapeHtml;
  app.use((_req, res, next) => {
    res.set('X-Content-Type-Options', 'nosniff');
    res.set('Content-Security-Policy', "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'");
    next();
  });
  app.use('/static', express.static(join(ROOT, 'views', 'static'), { index: false, fallthrough: false }));
  // Chart.js from node_modules, served by the app itself: the report works offline, no CDN.
  const chartJs = join(dirname(require.resolve('chart.js')), 'chart.umd.min.js');
  app.get('/vendor/chart.umd.js', (_req, res) => res.sendFile(chartJs));
  app.get('/favicon.ico', (_req, res) => res.status(204).end());
  const deviceBench = opts.deviceBench;
  if (deviceBench) {
    // The one route that writes, and only with serve --device-bench: a device's timings, into their own table.
    app.post(
      '/experiments/:name/device-timings',
      (req, _res, next) => next(sameToken(req.get(DEVICE_TOKEN_HEADER), deviceBench.token) ? undefined : new HttpError(403, `a device post needs this serve process's token in ${DEVICE_TOKEN_HEADER}`)),
      express.json({ limit: DEVICE_POST_LIMIT, strict: true, type: () => true }),
      (req, res) => {
        const { name } = parse(experimentParams, req.params, 'experiment name');
        const body = parse(deviceTimingsPostSchema, req.body, 'device timings');
        const exp = experimentOr404(name);
        let id: number;
        try {
          id = deviceBench.writer.recordDeviceTimings(exp, { name: body.device.name, userAgent: String(req.get('user-agent') ?? '').slice(0, 300) }, body.timings);
        } catch (err) {
          if (errorCodeOf(err) === 'USAGE') throw new HttpError(400, (err as Error).message);
          throw err;
        }
        res.status(201).json({ device: id, timings: body.timings.length });
      },
    );
  }
  app.use((req, _res, next) => (req.method === 'GET' || req.method === 'HEAD' ? next() : next(new HttpError(405, 'the report is read-only'))));

  const experimentOr404 = (name: string) => {
    const exp = store.findExperiment(name);
    if (!exp) throw new HttpError(404, `no experiment named "${name}"`);
    return exp;
  };

  app.get('/', async (req, res) => {
    parse(noQuery, req.query, 'query');
    // A constant number of queries, however many experiments: rows already read are not read again.
    const experiments = store.experiments();
    res.render('experiments', { experiments: experimentListRows(store.listExperiments(), experiments, await cache.snapshots(experiments)) });
  });

  /** The experiment's devices, and its snapshot as the chosen one (if any) measured it. */
  const seenBy = async (exp: Experiment, deviceId: number | undefined) => {
    const devices = store.devices(exp);
    const snapshot = await cache.snapshot(exp);
    if (deviceId === undefined) return { snapshot, devices, device: undefined };
    const device = devices.find((d) => d.id === deviceId);
    if (!device) throw new HttpError(404, `experiment "${exp.name}" has no device ${deviceId}`);
    return { snapshot: onDevice(snapshot, device), devices, device };
  };
  app.get('/experiments/:name', async (req, res) => {
    const { name } = parse(experimentParams, req.params, 'experiment name');
    const query = parse(chartQuery, req.query, 'query');
    const exp = experimentOr404(name);
    const { snapshot, devices, device } = await seenBy(exp, query.device);
    const baselines = store.baselines(exp);
    const data = withDevices(experimentData(snapshot, baselines), devices, device);
    // The first look at a large experiment builds its rows and sort order: other requests get a turn between the parts.
    await yieldToEventLoop();
    const table = trialTable(snapshot, baselines, tableSettings(query));
    await yieldToEventLoop();
    const [defaultY, defaultX, defaultC] = [exp.space.objectives[0] ?? 'accuracy', exp.space.objectives[1] ?? 'sizeBytes', exp.space.objectives[2] ?? 'latencyMs'];
    const chart = { x: query.x ?? defaultX, y: query.y ?? defaultY, c: query.c ?? defaultC, enc: query.enc ?? 'colour' };
    res.render('experiment', { data, dataJson: dataJson(data), chart, chartJson: scriptJson(chart), table, tableJson: scriptJson(table) });
  });

  app.get('/experiments/:name/data.json', async (req, res) => {
    const { name } = parse(experimentParams, req.params, 'experiment name');
    const { since, device: deviceId } = parse(dataQuery, req.query, 'query');
    const exp = experimentOr404(name);
    const { snapshot, devices, device } = await seenBy(exp, deviceId);
    const baselines = store.baselines(exp);
    const version = dataVersion(snapshot, baselines);
    // A live page that is up to date gets two fields, not the whole page again.
    if (since === version) {
      res.json({ version, unchanged: true });
      return;
    }
    res.json(withDevices(experimentData(snapshot, baselines), devices, device));
  });

  app.get('/experiments/:name/trials.json', async (req, res) => {
    const { name } = parse(experimentParams, req.params, 'experiment name');
    const query = parse(tableQuery, req.query, 'query');
    const exp = experimentOr404(name);
    res.json(trialTable((await seenBy(exp, query.device)).snapshot, store.baselines(exp), tableSettings(query)));
  });

  const trialOr404 = (req: Request) => {
    const { name, number } = parse(trialParams, req.params, 'trial');
    const exp = experimentOr404(name);
    const trial = store.trialDetail(exp, number);
    if (!trial) throw new HttpError(404, `experiment "${name}" has no trial ${number}`);
    return { exp, trial };
  };

  app.get('/experiments/:name/trials/:number', (req, res) => {
    parse(noQuery, req.query, 'query');
    const { exp, trial } = trialOr404(req);
    res.render('trial', { page: trialPage(exp, trial, store.baselines(exp).get(trial.number)), curveJson: scriptJson(trial.curve) });
  });

  /**
   * A trial's stored student, or one of its shallow exits', for the
   * downloads; a trial without weights (not COMPLETE) or an exit it does not
   * have is a 404.
   */
  const storedOr404 = (req: Request) => {
    parse(noQuery, req.query, 'query');
    const { exp, trial } = trialOr404(req);
    const exit = req.params.exit === undefined ? undefined : parse(exitParams, req.params, 'exit').exit;
    const weights = store.trialWeights(exp, trial.number, exit);
    if (!weights) throw new HttpError(404, exit === undefined ? `trial ${trial.number} has no stored weights (state ${trial.state})` : `trial ${trial.number} has no exit ${exit}`);
    const name = `${exp.name}-trial-${trial.number}${exit === undefined ? '' : `-exit-${exit}`}`;
    return { name, stored: { topology: weights.topology as Record<string, unknown>, manifest: weights.manifest, data: weights.data } };
  };

  for (const base of ['/experiments/:name/trials/:number', '/experiments/:name/trials/:number/exits/:exit']) {
    app.get(`${base}/model.onnx`, (req, res) => {
      const { name, stored } = storedOr404(req);
      res.type('application/octet-stream').send(Buffer.from(exportOnnx({ ...stored, name }).model));
    });

    app.get(`${base}/model.json`, (req, res) => {
      res.json(exportTfjs(storedOr404(req).stored).modelJson);
    });

    app.get(`${base}/weights.bin`, (req, res) => {
      res.type('application/octet-stream').send(exportTfjs(storedOr404(req).stored).weights);
    });
  }

  if (deviceBench) {
    // The device page: TF.js and its wasm backend from node_modules (no CDN), timing the front's students in the device's browser.
    // Core and layers rather than the tf.min.js union bundle, whose polyfills evaluate strings (a CSP without 'unsafe-eval' stops it).
    const dist = (pkg: string) => join(dirname(require.resolve(`@tensorflow/${pkg}/package.json`)), 'dist');
    const wasmDist = dist('tfjs-backend-wasm');
    app.get('/vendor/tf-core.min.js', (_req, res) => res.sendFile(join(dist('tfjs-core'), 'tf-core.min.js')));
    app.get('/vendor/tf-layers.min.js', (_req, res) => res.sendFile(join(dist('tfjs-layers'), 'tf-layers.min.js')));
    app.get('/vendor/tf-backend-wasm.min.js', (_req, res) => res.sendFile(join(wasmDist, 'tf-backend-wasm.min.js')));
    app.get('/vendor/wasm/:file', (req, res) => {
      const file = parse(wasmFileParams, req.params, 'file').file;
      res.type('application/wasm').sendFile(join(wasmDist, file));
    });
    app.get('/experiments/:name/device', async (req, res) => {
      const { name } = parse(experimentParams, req.params, 'experiment name');
      const { token } = parse(deviceQuery, req.query, 'query');
      if (!sameToken(token, deviceBench.token)) throw new HttpError(403, 'the device page needs the token serve --device-bench printed');
      const exp = experimentOr404(name);
      const snapshot = await cache.snapshot(exp);
      const students = snapshot.front.map((t) => ({ number: t.number, arch: architectureSummary(t.candidate.student), searchMs: t.metrics?.latencyMs ?? null }));
      // WebAssembly needs 'wasm-unsafe-eval': on this page only; every other page keeps the plain policy.
      res.set('Content-Security-Policy', "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'");
      res.render('device', { name: exp.name, data: scriptJson({ experiment: exp.name, inputShape: exp.dataset?.inputShape ?? [28, 28, 1], students, token, runs: MIN_DEVICE_RUNS }) });
    });
  }

  app.use((_req, _res, next) => next(new HttpError(404, 'no such page')));

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    // The JSON body parser's own refusals: a body over the limit (413), one that is not JSON (400).
    const parserError = (err as { type?: string }).type;
    if (parserError === 'entity.too.large') err = new HttpError(413, `the body is over ${DEVICE_POST_LIMIT}`);
    else if (parserError === 'entity.parse.failed') err = new HttpError(400, 'the body is not JSON');
    const status = err instanceof HttpError ? err.status : (err as { status?: number }).status === 404 ? 404 : errorCodeOf(err) === 'EXPERIMENT_NOT_FOUND' ? 404 : 500;
    // A corrupt store says what is wrong; anything else is a bug whose details stay in the server log.
    const message = err instanceof HttpError || status === 404 || errorCodeOf(err) === 'STORE_CORRUPT' ? (err as Error).message : 'internal error; see the server log';
    if (status === 500) process.stderr.write(`report: ${req.method} ${req.originalUrl}: ${(err as Error).stack ?? err}\n`);
    if (req.path.endsWith('.json') || req.path.endsWith('.bin') || req.path.startsWith('/static') || req.path.endsWith('/device-timings')) {
      res.status(status).json({ error: message });
      return;
    }
    res.status(status).render('error', { status, message });
  });
  return app;
}
