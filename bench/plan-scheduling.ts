import { PlanStep } from '../activities/plans/plan-schemas';
import { fullScanScheduler } from '../test/support/full-scan-scheduler';
import type { StepStatus } from '../workflows/plan-types';
import { createReadySteps, type PassActions, type ReadySteps } from '../workflows/ready-steps';
import type { Benchmark, BenchFigure } from './bench-types';
import { since } from './measure';

type MakeScheduler = (steps: readonly PlanStep[], statusOf: (id: string) => StepStatus) => ReadySteps;

const SHAPES: Record<string, (n: number) => PlanStep[]> = {
  independent: (n) => Array.from({ length: n }, (_, i) => PlanStep.parse({ id: `s${i}`, kind: 'tool', tool: 'core.echo' })),
  chain: (n) => Array.from({ length: n }, (_, i) => PlanStep.parse({ id: `s${i}`, kind: 'tool', tool: 'core.echo', dependsOn: i > 0 ? [`s${i - 1}`] : [] })),
};

/**
 * Milliseconds of scheduling to run `steps` to their end, `concurrency` at a time, each step ending
 * in the order it started, as the plan workflow schedules (a pass after every step end).
 */
function schedulingMs(steps: readonly PlanStep[], concurrency: number, make: MakeScheduler): number {
  const status = new Map<string, StepStatus>(steps.map((s) => [s.id, 'pending']));
  const ready = make(steps, (id) => status.get(id)!);
  const started: string[] = [];
  let ended = 0;
  const actions: PassActions = {
    blocked: (s) => s.dependsOn.some((d) => status.get(d) !== 'completed'),
    room: () => concurrency - (started.length - ended),
    skip: (s) => {
      status.set(s.id, 'skipped');
      ready.finished(s.id);
    },
    start: (s) => {
      status.set(s.id, 'running');
      started.push(s.id);
    },
  };
  const t = process.hrtime.bigint();
  for (;;) {
    for (let again = true; again; ) again = ready.pass(actions);
    if (ended === started.length) break;
    const id = started[ended++]!;
    status.set(id, 'completed');
    ready.finished(id);
  }
  const ms = since(t);
  if (ended !== steps.length) throw new Error(`scheduling ended ${ended} of ${steps.length} steps`);
  return ms;
}

/** Scheduling CPU of a whole run by the index of ready steps against the scan of every step it replaced (pure code, no stack). */
export const planSchedulingBench: Benchmark = {
  name: 'plan-scheduling: ready-steps index vs full scan per pass',
  async run(): Promise<BenchFigure[]> {
    const figures: BenchFigure[] = [];
    for (const [shape, build] of Object.entries(SHAPES)) {
      for (const n of [500, 5000]) {
        const steps = build(n);
        // Best of three: the figure is CPU, not the machine's noise.
        const best = (make: MakeScheduler) => Math.min(...[0, 1, 2].map(() => schedulingMs(steps, 4, make)));
        const scan = best(fullScanScheduler);
        const index = best(createReadySteps);
        figures.push(
          { name: `${shape}, ${n} steps, concurrency 4: full scan`, value: scan, unit: 'ms' },
          { name: `${shape}, ${n} steps, concurrency 4: index`, value: index, unit: 'ms' },
          { name: `${shape}, ${n} steps: full scan / index`, value: scan / index, unit: '×' },
        );
      }
    }
    return figures;
  },
};
