import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { KdError } from '../core/errors';
import { Store } from '../store/store';
import { DEVICE_TOKEN_HEADER, createApp } from './app';
import { ReportCache } from './report-cache';
import type { Log } from '../core/log';

export interface ServeOptions {
  db: string;
  port: number;
  host: string;
  /**
   * Accept latency timings from users' own devices: a random token for this
   * process, and a second, writable connection that writes device timings
   * only (the search stays the only writer of trials).
   */
  deviceBench?: boolean;
}

/** Serves the read-only report; resolves once it listens. */
export async function startServer(opts: ServeOptions, log: Log): Promise<{ server: Server; url: string; close: () => Promise<void> }> {
  if (!existsSync(opts.db)) {
    throw new KdError('EXPERIMENT_NOT_FOUND', `${opts.db}: no database yet; run a search first (npx kdsearch search --space search-spaces/mnist-quick.yaml)`);
  }
  const store = Store.open(opts.db, { readonly: true });
  const cache = new ReportCache(store);
  const writer = opts.deviceBench ? Store.open(opts.db) : undefined;
  const token = randomBytes(24).toString('base64url');
  const app = createApp(store, cache, writer ? { deviceBench: { token, writer } } : {});
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(opts.port, opts.host, () => resolve(s));
    s.once('error', (err: NodeJS.ErrnoException) =>
      reject(new KdError('USAGE', `cannot listen on ${opts.host}:${opts.port} (${err.code ?? err.message}); choose another --port`)),
    );
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const url = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}/`;
  log(`report: ${url}`);
  if (writer) {
    log(`device bench: open ${url}experiments/NAME/device?token=${encodeURIComponent(token)} on the device (valid while this serve process runs)`);
    log(`device bench: scripts POST /experiments/NAME/device-timings with header ${DEVICE_TOKEN_HEADER}: ${token}`);
  }
  // Read every experiment once in the background, in chunks that let requests through, so the first page is quick too.
  cache.warmUp(store.experiments(), new Map(store.listExperiments().map((e) => [e.name, e.complete + e.failed + e.pruned + e.running + e.waiting]))).catch((err: unknown) => log(`report: reading the experiments ahead failed (pages will say why): ${(err as Error).message}`));
  return {
    server,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          store.close();
          writer?.close();
          resolve();
        });
      }),
  };
}
