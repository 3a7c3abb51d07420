import cliProgress from 'cli-progress';
import type { SearchEvent } from '../runtime/search-loop';
import type { Log } from '../core/log';

/**
 * Search progress: a bar (trials done / planned, failures, front size,
 * elapsed, ETA) on an interactive terminal; one line per finished trial
 * otherwise. Written to stderr so stdout keeps only the result.
 */
export function searchProgress(opts: { planned: number; done: number; failed: number; interactive: boolean; log: Log; frontSize: () => number }) {
  let done = opts.done;
  let failed = opts.failed;
  const started = Date.now();
  const bar = opts.interactive
    ? new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: 'trials {bar} {value}/{total} | failed {failed} | front {front} | running {running} | paused {paused} | {duration_formatted} elapsed, ETA {eta_formatted}',
          hideCursor: true,
          etaBuffer: 4,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const running = new Set<number>();
  const paused = new Set<number>();
  // The front changes only when a trial ends; recomputing it per epoch would reread the whole store.
  let front = bar ? opts.frontSize() : 0;
  bar?.start(opts.planned, done, { failed, front, running: 0, paused: 0 });
  return {
    onEvent(e: SearchEvent) {
      if (e.type === 'trial-start') {
        running.add(e.number);
        paused.delete(e.number);
      }
      if (e.type === 'trial-paused') {
        running.delete(e.number);
        paused.add(e.number);
        const m = e.outcome.metrics;
        if (!bar) opts.log(`trial ${e.number} paused at its rung, epoch ${e.outcome.epoch}: ${(m.accuracy * 100).toFixed(2)}% accuracy, ${m.sizeBytes} bytes, ${m.latencyMs.toFixed(3)} ms`);
      }
      if (e.type === 'screened' && !bar) opts.log(`trial ${e.number}: candidate ${e.picked + 1} of ${e.of} picked by the pre-screen (${(e.accuracy * 100).toFixed(1)}% after its short distillation; ${e.seconds.toFixed(1)} s of screens)`);
      if (e.type === 'promoted' && !bar) opts.log(`trial ${e.number} promoted past its rung at epoch ${e.fromEpoch}: it continues`);
      if (e.type === 'pruned') {
        done += e.numbers.length;
        for (const n of e.numbers) paused.delete(n);
        opts.log(`trials ${e.numbers.join(', ')} pruned: paused at a rung, not promoted before the search ended`);
      }
      if (e.type === 'trial-end') {
        running.delete(e.number);
        done++;
        if (!e.outcome.ok) failed++;
        if (bar) front = opts.frontSize();
        if (!bar) {
          const what = e.outcome.ok
            ? `${(e.outcome.metrics.accuracy * 100).toFixed(2)}% accuracy, ${e.outcome.metrics.params} params, ${e.outcome.metrics.sizeBytes} bytes, ${e.outcome.metrics.latencyMs.toFixed(3)} ms${e.outcome.metrics.latencyFullSpeed === false ? ' (timed in a slow spell of the machine)' : ''}`
            : `FAILED [${e.outcome.code}] ${e.outcome.message}`;
          opts.log(`trial ${e.number} (${done}/${opts.planned}, ${((Date.now() - started) / 1000).toFixed(0)} s): ${what}`);
        }
      }
      if (e.type === 'exhausted') opts.log('search space exhausted: every allowed candidate has been proposed');
      if (e.type === 'requeued') opts.log(`trials ${e.numbers.join(', ')} were left RUNNING by a stopped process; they run again`);
      if (e.type === 'waiting') {
        opts.log(`waiting for ${e.trials.map((t) => `trial ${t.number} (run by ${t.owner ?? 'no owner'})`).join(', ')}: another live process is running them; they run here if it stops`);
      }
      bar?.update(done, { failed, front, running: running.size, paused: paused.size });
    },
    stop() {
      bar?.stop();
    },
  };
}
