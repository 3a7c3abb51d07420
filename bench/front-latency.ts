/**
 * Does a search's front rank latency the way the search stored it? Rebuilds
 * every front member of a stored experiment from its stored weights and
 * times it alone in this process (the same definition, model/latency.ts),
 * 3 times, then prints the Spearman rank correlation between the stored
 * and the re-measured medians (students whose re-measured 95% intervals
 * overlap count as ties, as in bench:latency), the ratio of each, and the experiment's
 * latency model (held-out error).
 *   npm run bench:front-latency -- --name quick1 [--db data/kdsearch.db] [--rounds 3]
 */
import { spearman } from '../src/core/rank';
import { initBackend } from '../src/model/backend';
import { builtinSpecOf } from '../src/model/teacher-arch';
import { describeLatencyModel, experimentLatencyModel } from '../src/search/latency-model';
import { frontOf } from '../src/search/objectives';
import { architectureSummary } from '../src/space/student';
import { Store } from '../src/store/store';
import { timeStoredAlone } from './alone';
import { flag, mean, median, tiedSpearman } from './stats';

async function main() {
  const name = flag('name', '');
  const db = flag('db', 'data/kdsearch.db');
  const rounds = Number(flag('rounds', '3'));
  await initBackend('wasm');
  const store = Store.open(db, { readonly: true });
  const exp = store.getExperiment(name);
  const history = store.history(exp);
  const front = frontOf(exp.space, history);
  const inputShape = exp.dataset?.inputShape ?? [28, 28, 1];
  const alone = await timeStoredAlone({
    stored: front.map((t) => {
      const stored = store.trialWeights(exp, t.number)!;
      return { ...stored, data: new Uint8Array(stored.data) };
    }),
    inputShape,
    rounds,
    references: exp.latencyReferences,
  });
  const storedMs = front.map((t) => t.metrics!.latencyMs);
  const aloneMs = alone.map((a) => median(a.map((s) => s.median)));
  const intervals = alone.map((a) => [mean(a.map((s) => s.lo)), mean(a.map((s) => s.hi))] as const);
  const ranked = tiedSpearman(storedMs, aloneMs, intervals);
  const model = experimentLatencyModel(exp, builtinSpecOf(exp), history);
  store.close();
  process.stdout.write(
    `${JSON.stringify(
      {
        experiment: name,
        members: front.map((t, i) => ({
          trial: t.number,
          student: architectureSummary(t.candidate.student),
          storedMs: storedMs[i],
          aloneMs: alone[i].map((s) => s.median),
          alone95: intervals[i],
          tieGroup: ranked.groups[i],
          ratio: storedMs[i] / aloneMs[i],
        })),
        // Students whose alone 95% intervals overlap count as ties (identical work); without ties for comparison.
        spearmanStoredVsAlone: ranked.spearman,
        spearmanWithoutTies: spearman(storedMs, aloneMs),
        latencyModel: { n: model?.n, heldOut: model?.heldOut, trusted: model?.trusted, line: describeLatencyModel(model) },
      },
      null,
      2,
    )}\n`,
  );
}

void main();
