import { spawn } from 'node:child_process';
import { CLI, ROOT } from './helpers';

/** `kdsearch serve` on a free port, as a user runs it: its address, and how long it takes to stop on SIGTERM. */
export async function serveProcess(db: string) {
  const child = spawn(process.execPath, [CLI, 'serve', '--db', db, '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(String(d).trim()));
    child.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
  });
  return {
    url,
    /** Sends SIGTERM; resolves with the milliseconds until the process exited. */
    async terminate(): Promise<number> {
      const exited = new Promise<number>((resolve) => child.once('exit', () => resolve(performance.now())));
      const sent = performance.now();
      child.kill('SIGTERM');
      return (await exited) - sent;
    },
  };
}

/** Milliseconds until a GET's whole body arrived; a status other than 200 throws. */
export async function timedGet(url: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(url);
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
  return performance.now() - started;
}
