/**
 * Hypervolume against time, one line per arm (the mean over seeds, each
 * seed's run faint), rendered with chart.js in headless Chromium (the
 * `canvas` npm package downloads binaries at install and fails here) and
 * saved as a PNG.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { chromium } from 'playwright-core';

export interface PlotLine {
  label: string;
  points: Array<[number, number]>;
  faint?: boolean;
}

const COLOURS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2'];

export async function plotHypervolume(opts: { panels: Array<{ title: string; lines: PlotLine[] }>; file: string; chromiumPath?: string }): Promise<void> {
  const chartJs = readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
  const labels = [...new Set(opts.panels.flatMap((p) => p.lines.filter((l) => !l.faint).map((l) => l.label)))];
  const colour = (label: string) => COLOURS[labels.indexOf(label) % COLOURS.length];
  const panels = opts.panels.map((p) => ({
    title: p.title,
    datasets: p.lines.map((l) => ({
      label: l.faint ? '' : l.label,
      data: l.points.map(([x, y]) => ({ x, y })),
      borderColor: colour(l.label) + (l.faint ? '40' : ''),
      borderWidth: l.faint ? 1 : 2.5,
      pointRadius: 0,
      stepped: true,
      fill: false,
    })),
  }));
  const html = `<!doctype html><html><body style="margin:0;background:#fff;font-family:sans-serif">
<div id="plots" style="display:flex;flex-wrap:wrap;width:${560 * Math.min(2, panels.length)}px">
${panels.map((_, i) => `<div style="width:540px;height:360px;padding:10px"><canvas id="c${i}"></canvas></div>`).join('')}
</div>
<script>${chartJs}</script>
<script>
const panels = ${JSON.stringify(panels)};
panels.forEach((p, i) => new Chart(document.getElementById('c' + i), {
  type: 'line',
  data: { datasets: p.datasets },
  options: {
    animation: false, responsive: true, maintainAspectRatio: false,
    plugins: { title: { display: true, text: p.title }, legend: { labels: { filter: (item) => item.text !== '' } } },
    scales: { x: { type: 'linear', title: { display: true, text: 'seconds' } }, y: { title: { display: true, text: 'hypervolume' } } },
  },
}));
document.title = 'ready';
</script></body></html>`;
  const browser = await chromium.launch({ executablePath: opts.chromiumPath ?? '/usr/bin/chromium', args: ['--no-sandbox', '--headless', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1140, height: 400 * Math.ceil(panels.length / 2) } });
    await page.setContent(html);
    await page.waitForFunction('document.title === "ready"');
    await page.locator('#plots').screenshot({ path: opts.file });
  } finally {
    await browser.close();
  }
}
