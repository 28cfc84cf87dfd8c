import type { PlanDefinition, PlanStep } from '../../activities/plans/plan-schemas';

/** What `GET /api/v1/plans/:id` answers, as far as people are shown it. */
export interface PlanViewBody {
  id: string;
  name: string;
  version: number;
  description?: string | null;
  goal?: string | null;
  maxConcurrentRuns?: number;
  createdBy?: string;
  updatedAt?: string;
  definition: Pick<PlanDefinition, 'steps' | 'onFailure' | 'concurrency'>;
  runs?: { id: string; status: string }[];
}

/** A duration as plans give it: text such as `3s`, or milliseconds. */
const duration = (d: string | number) => (typeof d === 'number' ? `${d} ms` : d);

/** What a step does, in a few words. */
function summary(step: PlanStep): string {
  switch (step.kind) {
    case 'tool':
      return step.tool;
    case 'wait':
      return step.duration === undefined ? `until ${step.until}` : duration(step.duration);
    case 'approval':
      return `by ${step.approvers.join(', ')}, ${step.onTimeout} after ${duration(step.approvalTimeout)}`;
    case 'condition':
      return step.expression;
    case 'sub_plan':
      return `plan ${step.planId}`;
  }
}

/** A plan for people: what it is, how it runs, one row per step (undo = has a compensation), its latest run. */
export function renderPlan(plan: PlanViewBody): { header: string[]; steps: Record<string, unknown>[] } {
  const { definition } = plan;
  const header = [`plan ${plan.id}  ${plan.name}  v${plan.version}`];
  if (plan.goal) header.push(`goal ${plan.goal}`);
  if (plan.description) header.push(`description ${plan.description}`);
  header.push(`on failure ${definition.onFailure}, ${definition.concurrency} steps at once, at most ${plan.maxConcurrentRuns ?? '?'} runs at once`);
  if (plan.createdBy) header.push(`created by ${plan.createdBy}, updated ${plan.updatedAt ?? '?'}`);
  const latest = plan.runs?.[0];
  if (latest) header.push(`latest run ${latest.id} ${latest.status}`);
  const steps = definition.steps.map((s) => ({ step: s.id, kind: s.kind, what: summary(s), after: s.dependsOn.join(', '), undo: s.compensation ? s.compensation.tool : '' }));
  return { header, steps };
}
