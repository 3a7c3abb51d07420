import { hypervolume } from './hypervolume';
import { dominates } from './pareto';

/** A point of the objective space (every component minimised) and what it stands for: a trial, or one exit of one. */
export interface FrontPoint<K> {
  key: K;
  values: readonly number[];
  /** When the point is a shallow exit of the trial `key` (self-exits), which one. */
  exit?: number;
}

/**
 * The non-dominated set, kept as points arrive: a new point either joins
 * (removing the members it dominates) or not, in O(front size). Equal points
 * do not dominate each other, so both stay, as in a non-dominated sort. The
 * set does not depend on the order points arrive in.
 */
export class RunningFront<K> {
  private members: Array<FrontPoint<K>> = [];

  /** Adds a point; true when the front changed. */
  add(point: FrontPoint<K>): boolean {
    for (const m of this.members) if (dominates(m.values, point.values)) return false;
    this.members = this.members.filter((m) => !dominates(point.values, m.values));
    this.members.push(point);
    return true;
  }

  get points(): ReadonlyArray<FrontPoint<K>> {
    return this.members;
  }

  get size(): number {
    return this.members.length;
  }

  clone(): RunningFront<K> {
    const copy = new RunningFront<K>();
    copy.members = [...this.members];
    return copy;
  }
}

/**
 * The front and the hypervolume after each step, kept incrementally: a step
 * adds zero or more points (a trial that did not complete adds none, a
 * multi-exit one several); the exact hypervolume is recomputed only when the
 * front changed, and over the front only (dominated points add no volume).
 */
export class FrontProgress<K> {
  private front = new RunningFront<K>();
  private volume = 0;
  private readonly steps: Array<{ step: number; hypervolume: number }> = [];

  constructor(private readonly reference: readonly number[]) {}

  /** Records step `step` (a trial number, in increasing order) with its points. */
  add(step: number, points: ReadonlyArray<FrontPoint<K>>): void {
    let changed = false;
    for (const p of points) changed = this.front.add(p) || changed;
    if (changed) this.volume = hypervolume(this.front.points.map((p) => p.values), this.reference);
    this.steps.push({ step, hypervolume: this.volume });
  }

  get members(): ReadonlyArray<FrontPoint<K>> {
    return this.front.points;
  }

  get hypervolume(): number {
    return this.volume;
  }

  /** Hypervolume after every step so far, in step order. */
  get curve(): ReadonlyArray<{ step: number; hypervolume: number }> {
    return this.steps;
  }

  /** A copy to extend with steps that may still change (unfinished trials), leaving this one as it is. */
  fork(): FrontProgress<K> {
    const copy = new FrontProgress<K>(this.reference);
    copy.front = this.front.clone();
    copy.volume = this.volume;
    (copy.steps as Array<{ step: number; hypervolume: number }>).push(...this.steps);
    return copy;
  }
}
