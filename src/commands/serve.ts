import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Log } from '../distill/teacher';
import { KdError } from '../errors';
import { Store } from '../store/store';
import { createApp } from '../web/app';

export interface ServeOptions {
  db: string;
  port: number;
  host: string;
}

/** Serves the read-only report; resolves once it listens. */
export async function startServer(opts: ServeOptions, log: Log): Promise<{ server: Server; url: string; close: () => Promise<void> }> {
  if (!existsSync(opts.db)) {
    throw new KdError('EXPERIMENT_NOT_FOUND', `${opts.db}: no database yet; run a search first (npx kdsearch search --space search-spaces/mnist-quick.yaml)`);
  }
  const store = Store.open(opts.db, { readonly: true });
  const app = createApp(store);
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
  return {
    server,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          store.close();
          resolve();
        });
      }),
  };
}

/** Waits for Ctrl-C (or SIGTERM). */
export function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const done = (signal: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(signal);
    };
    const onInt = () => done('SIGINT');
    const onTerm = () => done('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
}
