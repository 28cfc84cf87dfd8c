// Which pending steps of a plan run may start or must be skipped, kept up to date as steps finish
// or are reset: a scheduling pass costs what changed since the last one, not a scan of every step.
// Pure code, safe in the workflow sandbox.
import type { PlanStep } from '../activities/plans/plan-schemas';
import type { StepStatus } from './plan-types';

/** Whether a step with this status has ended: its dependents may run (or are skipped) once all their dependencies have. */
export function isFinished(status: StepStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'skipped' || status === 'compensated' || status === 'compensation_failed';
}

/** What one scheduling pass does with the ready steps. */
export interface PassActions {
  /** True when a ready step must be skipped rather than run (an unchosen branch, a dependency that did not complete). */
  blocked(step: PlanStep): boolean;
  /** How many more steps may start now. */
  room(): number;
  skip(step: PlanStep): void;
  start(step: PlanStep): void;
}

/** The ready steps of a run, told of every change to a step's status that readiness depends on. */
export interface ReadySteps {
  /** The step has just finished (its status says how). */
  finished(id: string): void;
  /** Steps that had finished are pending again (a rollback to a checkpoint), all at once. */
  reset(ids: readonly string[]): void;
  /** A step that had started is pending again without having finished (interrupted). */
  requeued(id: string): void;
  /**
   * One pass over the steps ready when it begins, in definition order: each blocked step is
   * skipped, and the others start while there is room. Steps made ready by the pass's own skips
   * wait for the next pass. True when the pass skipped a step (so another pass may have work).
   */
  pass(actions: PassActions): boolean;
}

/** A step (by definition index) that became ready; stale once the step became ready again later (`epoch`). */
interface Arrival {
  at: number;
  epoch: number;
}

/**
 * The ready steps of `steps`, whose statuses `statusOf` reads as they are now (a carried-over run
 * starts with its finished steps finished). Costs O(dependencies + log steps) per step change.
 */
export function createReadySteps(steps: readonly PlanStep[], statusOf: (id: string) => StepStatus): ReadySteps {
  const indexOf = new Map(steps.map((s, at) => [s.id, at]));
  /** dependents[at]: the steps depending on step `at`, once per mention in their dependsOn. */
  const dependents: number[][] = steps.map(() => []);
  /** waiting[at]: mentions in step `at`'s dependsOn of steps not finished. */
  const waiting = steps.map((s, at) => {
    for (const dep of s.dependsOn) dependents[indexOf.get(dep)!]!.push(at);
    return s.dependsOn.filter((dep) => !isFinished(statusOf(dep))).length;
  });
  const epochs = steps.map(() => 0);
  let arrivals: Arrival[] = [];
  /** Ready steps that may start, by definition index; entries gone stale are dropped when met. */
  const runnable = new ArrivalHeap();

  const arrive = (at: number) => {
    if (waiting[at] === 0 && statusOf(steps[at]!.id) === 'pending') arrivals.push({ at, epoch: ++epochs[at]! });
  };
  const current = (a: Arrival) => a.epoch === epochs[a.at] && waiting[a.at] === 0 && statusOf(steps[a.at]!.id) === 'pending';
  steps.forEach((_, at) => arrive(at));

  return {
    finished(id) {
      for (const at of dependents[indexOf.get(id)!]!) {
        waiting[at]!--;
        arrive(at);
      }
    },
    reset(ids) {
      const reset = ids.map((id) => indexOf.get(id)!);
      for (const at of reset) for (const dependent of dependents[at]!) waiting[dependent]!++;
      for (const at of reset) arrive(at);
    },
    requeued(id) {
      arrive(indexOf.get(id)!);
    },
    pass(actions) {
      const fresh = arrivals.filter(current).sort((a, b) => a.at - b.at);
      arrivals = [];
      const blocked: number[] = [];
      for (const a of fresh) {
        if (actions.blocked(steps[a.at]!)) blocked.push(a.at);
        else runnable.push(a);
      }
      let skipped = false;
      for (let i = 0; ; ) {
        const next = actions.room() > 0 ? runnable.peek(current) : undefined;
        const skip = blocked[i];
        if (skip !== undefined && (next === undefined || skip < next.at)) {
          actions.skip(steps[skip]!);
          skipped = true;
          i++;
        } else if (next !== undefined) {
          runnable.pop();
          actions.start(steps[next.at]!);
        } else {
          return skipped;
        }
      }
    },
  };
}

/** A binary min-heap of arrivals by definition index. */
class ArrivalHeap {
  private readonly items: Arrival[] = [];

  push(item: Arrival): void {
    const items = this.items;
    items.push(item);
    for (let i = items.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (items[parent]!.at <= item.at) break;
      items[i] = items[parent]!;
      items[parent] = item;
      i = parent;
    }
  }

  /** The smallest arrival for which `valid` holds, dropping the invalid ones above it. */
  peek(valid: (item: Arrival) => boolean): Arrival | undefined {
    while (this.items.length > 0 && !valid(this.items[0]!)) this.pop();
    return this.items[0];
  }

  pop(): void {
    const items = this.items;
    const last = items.pop()!;
    if (items.length === 0) return;
    items[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      if (l < items.length && items[l]!.at < items[min]!.at) min = l;
      if (r < items.length && items[r]!.at < items[min]!.at) min = r;
      if (min === i) return;
      [items[i], items[min]] = [items[min]!, items[i]!];
      i = min;
    }
  }
}
