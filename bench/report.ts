/**
 * The report at scale: experiments of 1,050 and 10,500 synthetic trials (and
 * a 12-trial one) written through kdsearch's Store as a search writes them
 * (test/support/synthetic-experiment.ts), then:
 *  - each route timed from this process (cold: the first request after the
 *    server starts; warm: the median of --repeat more);
 *  - the experiment page in Chromium: load to rendered (chart and table),
 *    sort, filter, hover;
 *  - `kdsearch front NAME --json` as a user runs it;
 *  - the 12-trial page while the 10k page is requested in a loop, and how
 *    long `kdsearch serve` takes to stop on SIGTERM meanwhile.
 *
 *   npm run bench:report -- [--sizes 1050,10500] [--repeat 7] [--chromium /usr/bin/chromium]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { Store } from '../src/store/store';
import { startServer } from '../src/web/server';
import { CLI, ROOT, tempDir } from '../test/support/helpers';
import { syntheticExperiment } from '../test/support/synthetic-experiment';
import { serveProcess, timedGet } from '../test/support/serve-process';
import { flag, median } from './stats';

declare const window: any;
declare const document: any;
declare const requestAnimationFrame: (callback: (time: number) => void) => number;

const sizes = flag('sizes', '1050,10500').split(',').map(Number);
const repeat = Number(flag('repeat', '7'));
const chromiumPath = flag('chromium', '/usr/bin/chromium');
const log = (line: string) => process.stderr.write(`${line}\n`);
const ms = (v: number) => Math.round(v * 10) / 10;

const timeRoute = timedGet;

async function routeTimes(base: string, name: string) {
  const e = `experiments/${encodeURIComponent(name)}`;
  const routes: Record<string, string> = {
    experiment: `${base}${e}`,
    dataJson: `${base}${e}/data.json`,
    dataJsonUnchanged: '',
    trialsJsonSorted: `${base}${e}/trials.json?sort=accuracy&dir=desc&page=3`,
    trialsJsonFiltered: `${base}${e}/trials.json?q=int8&state=COMPLETE`,
    list: base,
    trial: `${base}${e}/trials/7`,
  };
  const version = ((await (await fetch(routes.dataJson)).json()) as { version: string }).version;
  routes.dataJsonUnchanged = `${routes.dataJson}?since=${encodeURIComponent(version)}`;
  const out: Record<string, { warmMs: number; runs: number[] }> = {};
  for (const [key, url] of Object.entries(routes)) {
    const runs: number[] = [];
    for (let i = 0; i < repeat; i++) runs.push(await timeRoute(url));
    out[key] = { warmMs: ms(median(runs)), runs: runs.map(ms) };
  }
  return out;
}

async function pageTimes(page: Page, url: string) {
  const started = performance.now();
  await page.goto(url);
  await page.waitForFunction(() => window.Chart?.getChart('front-chart') && document.querySelectorAll('#trials tbody tr').length > 0);
  // Two frames: the chart's first paint is done.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const loadMs = performance.now() - started;
  const html = await page.content();
  const domNodes = await page.evaluate(() => document.getElementsByTagName('*').length);
  let t = performance.now();
  await page.click('#trials th[data-key="accuracy"]');
  await page.waitForSelector('#trials th.sorted-desc[data-key="accuracy"]');
  const sortMs = performance.now() - t;
  t = performance.now();
  await page.fill('#filter', 'int8');
  await page.waitForFunction(() => document.getElementById('page-info').textContent.includes('trials') && [...document.querySelectorAll('#trials tbody tr td:nth-child(4)')].every((td: any) => td.textContent === 'int8'));
  const filterMs = performance.now() - t;
  const point = await page.evaluate(() => {
    const chart = window.Chart.getChart('front-chart');
    const i = chart.data.datasets.findIndex((d: { label: string }) => d.label === 'dominated');
    const el = chart.getDatasetMeta(i).data[0];
    const rect = chart.canvas.getBoundingClientRect();
    return { x: rect.left + el.x, y: rect.top + el.y };
  });
  await page.mouse.move(point.x - 30, point.y - 30);
  t = performance.now();
  await page.mouse.move(point.x, point.y);
  await page.waitForFunction(() => (window.Chart.getChart('front-chart').tooltip.body?.length ?? 0) > 0);
  const hoverMs = performance.now() - t;
  return { loadMs: ms(loadMs), sortMs: ms(sortMs), filterMs: ms(filterMs), hoverMs: ms(hoverMs), htmlBytes: html.length, domNodes };
}

/** The small page's latency while another client requests the big page in a loop; then SIGTERM's. */
async function underLoad(db: string, big: string, small: string) {
  const serve = await serveProcess(db);
  const url = serve.url;
  let loading = true;
  let bigRequests = 0;
  let bigAnswered!: () => void;
  const firstBig = new Promise<void>((resolve) => (bigAnswered = resolve));
  const loop = (async () => {
    while (loading) {
      await timeRoute(`${url}experiments/${encodeURIComponent(big)}`).catch(() => {});
      bigRequests++;
      bigAnswered();
    }
  })();
  // From the moment serve answers, while it still reads the big experiment for the first time...
  const coldRuns: number[] = [];
  for (let i = 0; i < 20; i++) coldRuns.push(await timeRoute(`${url}experiments/${encodeURIComponent(small)}`));
  // ...and once the big page has been answered (the loop goes on).
  await firstBig;
  const smallRuns: number[] = [];
  for (let i = 0; i < 40; i++) smallRuns.push(await timeRoute(`${url}experiments/${encodeURIComponent(small)}`));
  const stopMs = await serve.terminate();
  loading = false;
  await loop;
  return {
    smallPageMsWhileFirstReadingBig: { median: ms(median(coldRuns)), max: ms(Math.max(...coldRuns)) },
    smallPageMs: { median: ms(median(smallRuns)), max: ms(Math.max(...smallRuns)) },
    bigRequestsMeanwhile: bigRequests,
    serveStopsAfterSigtermMs: ms(stopMs),
  };
}

async function main() {
  const dir = tempDir('kdsearch-bench-report-');
  const db = join(dir, 'report.db');
  const store = Store.open(db);
  const names: Record<number, string> = {};
  for (const n of sizes) {
    const started = performance.now();
    names[n] = `synthetic-${n}`;
    syntheticExperiment(store, { name: names[n], trials: n, seed: 3 });
    log(`wrote ${n} trials in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  syntheticExperiment(store, { name: 'small', trials: 12, seed: 4 });
  store.close();

  const result: Record<string, unknown> = { command: `npm run bench:report -- ${process.argv.slice(2).join(' ')}`.trim(), node: process.version, sizes };
  const server = await startServer({ db, port: 0, host: '127.0.0.1' }, () => {});
  const browser = existsSync(chromiumPath)
    ? await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] })
    : undefined;
  try {
    const perSize: Record<string, unknown> = {};
    for (const n of sizes) {
      const name = names[n];
      const coldMs = ms(await timeRoute(`${server.url}experiments/${encodeURIComponent(name)}`));
      const routes = await routeTimes(server.url, name);
      let page: unknown = 'no chromium';
      if (browser) {
        const p = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
        page = await pageTimes(p, `${server.url}experiments/${encodeURIComponent(name)}`);
        await p.close();
      }
      const front = spawnSync(process.execPath, [CLI, 'front', name, '--db', db, '--json'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28 });
      const frontStarted = performance.now();
      const again = spawnSync(process.execPath, [CLI, 'front', name, '--db', db, '--json'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28 });
      const frontCommandMs = performance.now() - frontStarted;
      if (front.status !== 0 || again.status !== 0) throw new Error(`kdsearch front failed: ${front.stderr}`);
      const report = JSON.parse(again.stdout) as { front: unknown[]; hypervolume: number };
      perSize[n] = { firstExperimentPageMs: coldMs, routes, page, frontCommandMs: ms(frontCommandMs), frontSize: report.front.length, hypervolume: report.hypervolume };
      log(`${n} trials done`);
    }
    result.sizes = perSize;
  } finally {
    await browser?.close();
    await server.close();
  }
  result.underLoad = await underLoad(db, names[sizes[sizes.length - 1]], 'small');
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:report failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
