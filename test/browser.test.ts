import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { startServer } from '../src/web/server';
import { candidateHash } from '../src/space/candidate';
import { Store } from '../src/store/store';
import { ROOT, tempDir, useWasm } from './support/helpers';

const SCREENSHOTS = join(ROOT, 'data', 'screenshots');
import { FIXTURE_CANDIDATES, XSS_NAME, buildReportFixture } from './support/web-fixture';

// Page-side code in page.evaluate runs in the browser; the project compiles without DOM types.
declare const window: any;
declare const document: any;

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// CI installs Debian's chromium (.ci/run); elsewhere the browser tests say why they skip.
const skip = !existsSync(CHROMIUM) && !process.env.CI ? `no browser at ${CHROMIUM} (apt-get install chromium)` : false;

let browser: Browser;
let server: Awaited<ReturnType<typeof startServer>>;
let db: string;

before(async () => {
  if (skip) return;
  await useWasm();
  db = (await buildReportFixture()).db;
  server = await startServer({ db, port: 0, host: '127.0.0.1' }, () => {});
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

async function open(path: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('dialog', (d) => {
    errors.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  // Nothing may come from the network: every request stays on the report's own origin.
  page.on('request', (r) => !r.url().startsWith(server.url) && errors.push(`external request: ${r.url()}`));
  await page.goto(server.url + path.replace(/^\//, ''));
  return { page, errors };
}

/** Screen position of a point of the front chart's dataset `label`. */
async function pointPosition(page: Page, label: string, index = 0) {
  return page.evaluate(
    ({ label, index }) => {
      const chart = (window as unknown as { Chart: { getChart(id: string): any } }).Chart.getChart('front-chart');
      const i = chart.data.datasets.findIndex((d: { label: string }) => d.label === label);
      const el = chart.getDatasetMeta(i).data[index];
      const rect = chart.canvas.getBoundingClientRect();
      return { x: rect.left + el.x, y: rect.top + el.y, trial: chart.data.datasets[i].data[index].trial?.number };
    },
    { label, index },
  );
}

test('the experiment page draws the front, hovering shows a trial, clicking opens it', { skip }, async (t) => {
  const { page, errors } = await open('/experiments/demo');
  await page.waitForFunction(() => (window as any).Chart?.getChart('front-chart'));
  const counts = await page.evaluate(() => {
    const chart = (window as any).Chart.getChart('front-chart');
    return Object.fromEntries(chart.data.datasets.map((d: any) => [d.label, d.data.length]));
  });
  assert.equal(counts.teacher, 1, 'the teacher is drawn');
  assert.equal(counts.failed, 1, 'the failed trial is drawn');
  assert.equal(counts.front + counts.dominated, 4, 'every complete trial is drawn');
  assert.ok(counts.front >= 1);
  const p = await pointPosition(page, 'front');
  await page.mouse.move(p.x, p.y);
  await page.waitForTimeout(200);
  const tooltip = await page.evaluate(() => (window as any).Chart.getChart('front-chart').tooltip.body?.flatMap((b: any) => b.lines) ?? []);
  assert.ok(tooltip.some((l: string) => l.startsWith(`trial ${p.trial} `)), `tooltip ${tooltip}`);
  assert.ok(tooltip.some((l: string) => l.startsWith('accuracy ')));
  // The run leaves a screenshot of the experiment page, with a tooltip open, for people to look at.
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, 'experiment.png'), fullPage: true });
  t.diagnostic(`screenshot: ${join(SCREENSHOTS, 'experiment.png')}`);
  await Promise.all([page.waitForURL(`**/experiments/demo/trials/${p.trial}`), page.mouse.click(p.x, p.y)]);
  await page.screenshot({ path: join(SCREENSHOTS, 'trial.png'), fullPage: true });
  assert.equal(await page.locator('h1').innerText(), `Trial ${p.trial} COMPLETE`);
  await page.waitForFunction(() => (window as any).Chart?.getChart('curve-chart'));
  assert.deepEqual(errors, []);
  await page.close();
});

test('choosing axes redraws the chart and keeps the choice in the address', { skip }, async () => {
  const { page, errors } = await open('/experiments/demo');
  await page.selectOption('#x', 'params');
  await page.selectOption('#c', 'sizeBytes');
  await page.selectOption('#enc', 'size');
  const title = await page.evaluate(() => (window as any).Chart.getChart('front-chart').options.scales.x.title.text);
  assert.match(title, /parameters/);
  assert.match(page.url(), /x=params/);
  assert.match(page.url(), /enc=size/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('the trial table sorts and filters', { skip }, async () => {
  const { page, errors } = await open('/experiments/demo');
  const rows = () => page.locator('#trials tbody tr').count();
  const rowsBecome = (n: number) => page.waitForFunction((n) => document.querySelectorAll('#trials tbody tr').length === n, n, { timeout: 5000 });
  assert.equal(await rows(), 5);
  await page.click('#trials th[data-key="accuracy"]');
  await page.waitForSelector('#trials th.sorted-desc[data-key="accuracy"]');
  await page.waitForURL(/sort=accuracy/);
  const accuracies = await page.locator('#trials tbody tr td:nth-child(6)').allInnerTexts();
  const numbers = accuracies.filter((a) => a !== '—').map((a) => parseFloat(a));
  assert.equal(numbers.length, 4);
  assert.deepEqual(numbers, [...numbers].sort((a, b) => b - a), 'sorted by accuracy, best first');
  await page.selectOption('#state-filter', 'FAILED');
  await rowsBecome(1);
  await page.waitForURL(/state=FAILED/);
  await page.selectOption('#state-filter', '');
  await page.fill('#filter', 'float16');
  await rowsBecome(1);
  // The address keeps the table's state: opened again, the page shows the same rows.
  const again = await open(page.url().replace(server.url, '/'));
  assert.equal(await again.page.locator('#trials tbody tr').count(), 1);
  assert.equal(await again.page.locator('#filter').inputValue(), 'float16');
  await again.page.close();
  assert.deepEqual([...errors, ...again.errors], []);
  await page.close();
});

test('while a search runs, the page shows new trials without reloading', { skip }, async () => {
  const writer = Store.open(db);
  const exp = writer.getExperiment('demo');
  writer.setExperimentStatus(exp.id, 'running');
  const { page, errors } = await open('/experiments/demo');
  await page.evaluate(() => ((window as any).__loadedOnce = true));
  assert.equal(await page.locator('#trials tbody tr').count(), 5);
  const c = { ...FIXTURE_CANDIDATES[0], training: { ...FIXTURE_CANDIDATES[0].training, alpha: 0.9 } };
  writer.insertTrial(exp, 5, c, candidateHash(c), { params: 1, macs: 1, sizeBytes: 4 });
  writer.claimTrial(exp, 5, 'elsewhere:1');
  await page.waitForFunction(() => document.querySelectorAll('#trials tbody tr').length === 6, null, { timeout: 10_000 });
  assert.equal(await page.evaluate(() => (window as any).__loadedOnce), true, 'no reload');
  assert.match(await page.locator('#counts').innerText(), /1 running/);
  writer.setExperimentStatus(exp.id, 'finished');
  writer.close();
  assert.deepEqual(errors, []);
  await page.close();
});

test('a <script> experiment name is shown as text and never runs', { skip }, async () => {
  const { page, errors } = await open(`/experiments/${encodeURIComponent(XSS_NAME)}`);
  await page.waitForFunction(() => (window as any).Chart?.getChart('front-chart'));
  assert.equal(await page.locator('h1').evaluate((h) => h.firstChild?.textContent?.trim()), XSS_NAME);
  const home = await open('/');
  assert.ok((await home.page.locator('table.list').innerText()).includes(XSS_NAME));
  assert.deepEqual([...errors, ...home.errors], [], 'no dialog, no errors');
  await page.close();
  await home.page.close();
});

test("a device opens the device page with serve's token, times the front in its own browser (TF.js wasm from the report), and its timings land in the store", { skip }, async () => {
  const copy = join(tempDir(), 'device.db');
  copyFileSync(db, copy);
  const lines: string[] = [];
  const bench = await startServer({ db: copy, port: 0, host: '127.0.0.1', deviceBench: true }, (line) => lines.push(line));
  try {
    const token = /X-Device-Token: (\S+)/.exec(lines.join('\n'))![1];
    const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('request', (r) => !r.url().startsWith(bench.url) && errors.push(`external request: ${r.url()}`));
    assert.equal((await page.request.get(`${bench.url}experiments/demo/device?token=nope`)).status(), 403, 'a wrong token');
    assert.equal((await page.request.get(`${server.url}experiments/demo/device?token=${encodeURIComponent(token)}`)).status(), 404, 'no device page without --device-bench');
    await page.goto(`${bench.url}experiments/demo/device?token=${encodeURIComponent(token)}`);
    await page.waitForFunction(() => !document.getElementById('run').disabled, undefined, { timeout: 30_000 });
    assert.match((await page.textContent('#status')) ?? '', /on wasm: \d+ students to time/);
    await page.fill('#device-name', 'headless Chromium');
    await page.click('#run');
    await page.waitForFunction(() => /^(posted|the report refused|failed)/.test(document.getElementById('status').textContent), undefined, { timeout: 120_000 });
    const status = (await page.textContent('#status')) ?? '';
    assert.match(status, /^posted: \d+ timings as device \d+ \(headless Chromium\)/);
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'device.png'), fullPage: true });
    assert.deepEqual(errors, []);
    await page.close();
    const store = Store.open(copy, { readonly: true });
    const exp = store.getExperiment('demo');
    const [device] = store.devices(exp);
    const front = store.history(exp).filter((t) => t.state === 'COMPLETE');
    assert.equal(device.name, 'headless Chromium');
    assert.match(device.userAgent, /Chrome/);
    assert.ok(device.timings.size >= 1 && device.timings.size <= front.length);
    for (const t of device.timings.values()) assert.ok(t.medianMs > 0 && t.p10Ms <= t.medianMs && t.medianMs <= t.p90Ms && t.runs >= 50);
    store.close();
    // The experiment page switches its latency axis, and its front, to the device.
    const view = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
    const viewErrors: string[] = [];
    view.on('pageerror', (e) => viewErrors.push(e.message));
    await view.goto(`${bench.url}experiments/demo`);
    await view.click('#devices a:has-text("headless Chromium")');
    await view.waitForURL(/device=\d+/);
    assert.match((await view.textContent('#latency-model')) ?? '', /measured in the browser of device "headless Chromium"/);
    const data = (await (await view.request.get(`${bench.url}experiments/demo/data.json?device=${device.id}`)).json()) as {
      front: Array<{ number: number; latencyMs: number | null }>;
      dominated: Array<{ number: number; latencyMs: number | null }>;
    };
    for (const m of data.front) assert.equal(m.latencyMs, device.timings.get(m.number)!.medianMs, `front member ${m.number} at the device's latency`);
    for (const m of data.dominated) assert.equal(m.latencyMs, device.timings.get(m.number)?.medianMs ?? null, `trial ${m.number}: the device's latency, or none`);
    assert.equal((await view.request.get(`${bench.url}experiments/demo/data.json?device=999`)).status(), 404);
    await view.screenshot({ path: join(SCREENSHOTS, 'experiment-device.png'), fullPage: true });
    assert.deepEqual(viewErrors, []);
    await view.close();
  } finally {
    await bench.close();
  }
});
