/**
 * What the arms' runs say: per task and arm, the final hypervolume over
 * seeds, and for each arm with rungs the time it took to reach the
 * full-fidelity arm's final hypervolume of the same seed, as a fraction of
 * the budget (target at most 0.5); where Optuna + PyTorch ran the same
 * task, each arm's final hypervolume over Optuna's of the same seed
 * (target at least 1); and the plot's lines.
 */
import type { ArmRun } from './search-arms';
import { timeToReach, valueAt } from './search-arms';
import { mean, median, sampleStd } from './stats';
import type { PlotLine } from './search-plot';

const FULL = 'nsga2-full';
const OPTUNA = 'optuna-pytorch';

export function summariseArms(runs: readonly ArmRun[]) {
  const tasks = [...new Set(runs.map((r) => r.task))];
  const table: Record<string, unknown> = {};
  const panels: Array<{ title: string; lines: PlotLine[] }> = [];
  for (const task of tasks) {
    const ofTask = runs.filter((r) => r.task === task);
    const budget = ofTask[0].budgetSec;
    const arms = [...new Set(ofTask.map((r) => r.arm))];
    const perArm: Record<string, unknown> = {};
    const lines: PlotLine[] = [];
    for (const arm of arms) {
      const own = ofTask.filter((r) => r.arm === arm).sort((a, b) => a.seed - b.seed);
      const finals = own.map((r) => r.finalHypervolume);
      const entry: Record<string, unknown> = {
        seeds: own.map((r) => r.seed),
        finalHypervolume: { mean: mean(finals), std: sampleStd(finals), values: finals },
        completeTrials: own.map((r) => r.states.COMPLETE ?? 0),
        prunedTrials: own.map((r) => r.states.PRUNED ?? 0),
      };
      if (own.some((r) => r.prescreen)) {
        entry.prescreenSpearmanWithFinalAccuracy = own.map((r) => r.prescreen?.spearman ?? null);
        entry.prescreenSecondsPerTrial = own.map((r) => Number((r.prescreen?.secondsPerTrial ?? 0).toFixed(2)));
      }
      if (arm !== FULL) {
        const ratios = own.flatMap((r) => {
          const full = ofTask.find((f) => f.arm === FULL && f.seed === r.seed);
          return full ? [timeToReach(r.curve, full.finalHypervolume) / budget] : [];
        });
        if (ratios.length) entry.timeToFullFinalOverBudget = { median: median(ratios), values: ratios.map((v) => (Number.isFinite(v) ? Number(v.toFixed(3)) : 'never')) };
      }
      const optuna = ofTask.filter((r) => r.arm === OPTUNA);
      if (arm !== OPTUNA && optuna.length) {
        const ratios = own.flatMap((r) => {
          const o = optuna.find((x) => x.seed === r.seed);
          return o ? [r.finalHypervolume / o.finalHypervolume] : [];
        });
        entry.hypervolumeOverOptunaAtBudget = { median: median(ratios), values: ratios.map((v) => Number(v.toFixed(3))) };
      }
      perArm[arm] = entry;
      const grid = Array.from({ length: 61 }, (_, i) => (i * budget) / 60);
      lines.push({ label: arm, points: grid.map((t) => [t, mean(own.map((r) => valueAt(r.curve, t)))]) });
      for (const r of own) lines.push({ label: arm, points: r.curve.concat([[budget, r.finalHypervolume]]), faint: true });
    }
    table[task] = perArm;
    panels.push({ title: `${task}: hypervolume of the front of COMPLETE trials (mean over ${Math.max(...arms.map((a) => ofTask.filter((r) => r.arm === a).length))} seeds; faint: each seed)`, lines });
  }
  return { table, panels };
}
