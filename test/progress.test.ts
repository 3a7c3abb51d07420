import assert from 'node:assert/strict';
import { test } from 'node:test';
import { searchProgress } from '../src/commands/progress';
import type { TrialFinal } from '../src/runtime/search-loop';

const metrics = { accuracy: 0.9612, floatAccuracy: 0.9612, params: 5082, macs: 100000, sizeBytes: 5994, latencyMs: 0.0871, latencyP10Ms: 0.085, latencyP90Ms: 0.09, latencyRuntime: 'tfjs-wasm' };

function lines(outcomeMetrics: typeof metrics & { latencyFullSpeed?: boolean }): string[] {
  const logged: string[] = [];
  const progress = searchProgress({ planned: 2, done: 0, failed: 0, interactive: false, log: (line: string) => void logged.push(line), frontSize: () => 1 });
  progress.onEvent({ type: 'trial-start', number: 0 } as never);
  progress.onEvent({ type: 'trial-end', number: 0, outcome: { ok: true, metrics: outcomeMetrics } as unknown as TrialFinal });
  progress.stop();
  return logged;
}

test("a trial's line says when its latency was timed in a slow spell (the wait for full speed gave up), and only then", () => {
  const slow = lines({ ...metrics, latencyFullSpeed: false });
  assert.match(slow.at(-1)!, /^trial 0 \(1\/2, \d+ s\): 96\.12% accuracy, 5082 params, 5994 bytes, 0\.087 ms \(timed in a slow spell of the machine\)$/);
  for (const full of [lines({ ...metrics, latencyFullSpeed: true }), lines(metrics)]) assert.match(full.at(-1)!, /0\.087 ms$/);
});
