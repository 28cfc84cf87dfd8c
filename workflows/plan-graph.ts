// Save-time checks of a plan's step graph and its references. Pure code, shared by the service
// (before a definition is stored) and the workflow.
import type { PlanStep } from '../activities/plans/plan-schemas';
import { dashedNames, parseExpression, referencedSteps, type ExpressionError } from './plan-expression';
import { templateSources } from './plan-template';

export interface GraphProblem {
  code: 'DUPLICATE_STEP' | 'MISSING_DEPENDENCY' | 'CYCLE' | 'UNKNOWN_STEP' | 'NOT_A_DEPENDENCY' | 'BAD_EXPRESSION' | 'BAD_BRANCH' | 'NEVER_RUNS';
  stepId: string;
  message: string;
}

/** Every problem of a step list (empty when valid): duplicates, missing deps, cycles, bad references. */
export function validatePlanGraph(steps: readonly PlanStep[]): GraphProblem[] {
  const problems: GraphProblem[] = [];
  const byId = new Map<string, PlanStep>();
  for (const step of steps) {
    if (byId.has(step.id)) problems.push({ code: 'DUPLICATE_STEP', stepId: step.id, message: `step id '${step.id}' is used twice` });
    byId.set(step.id, step);
  }
  for (const step of steps) {
    for (const dep of step.dependsOn) {
      if (!byId.has(dep)) problems.push({ code: 'MISSING_DEPENDENCY', stepId: step.id, message: `step '${step.id}' depends on '${dep}', which does not exist` });
      if (dep === step.id) problems.push({ code: 'CYCLE', stepId: step.id, message: `step '${step.id}' depends on itself` });
    }
  }
  const cycle = findCycle(steps, byId);
  if (cycle) problems.push({ code: 'CYCLE', stepId: cycle[0]!, message: `steps form a cycle: ${cycle.join(' -> ')}` });
  if (problems.length > 0) return problems;

  const ancestors = ancestorSets(steps, byId);
  for (const step of steps) {
    const own = ancestors.get(step.id)!;
    const check = (sources: string[], where: string, allowSelf: boolean) => {
      for (const source of sources) {
        let refs: string[];
        try {
          refs = referencedSteps(parseExpression(source));
          const dashed = dashedNames(source)[0];
          if (dashed !== undefined) {
            const [left, right] = [dashed.slice(0, dashed.indexOf('-')), dashed.slice(dashed.indexOf('-') + 1)];
            problems.push({
              code: 'BAD_EXPRESSION',
              stepId: step.id,
              message: `${where} of step '${step.id}': '${dashed}' would be read as one key; write '${left} - ${right}' to subtract, or ['${dashed}'] for such a key`,
            });
          }
        } catch (error) {
          problems.push({ code: 'BAD_EXPRESSION', stepId: step.id, message: `${where} of step '${step.id}': ${(error as ExpressionError).message}` });
          continue;
        }
        for (const ref of refs) {
          if (!byId.has(ref)) {
            problems.push({ code: 'UNKNOWN_STEP', stepId: step.id, message: `${where} of step '${step.id}' references unknown step '${ref}'` });
          } else if (!own.has(ref) && !(allowSelf && ref === step.id)) {
            problems.push({
              code: 'NOT_A_DEPENDENCY',
              stepId: step.id,
              message: `${where} of step '${step.id}' references step '${ref}', which is not among its dependencies`,
            });
          }
        }
      }
    };
    if (step.kind === 'tool') check(templateSources(step.args), 'arguments', false);
    if (step.kind === 'sub_plan') check(templateSources(step.input), 'input', false);
    if (step.kind === 'condition') {
      check([step.expression], 'expression', false);
      for (const target of [...step.then, ...step.else]) {
        const t = byId.get(target);
        if (!t) problems.push({ code: 'UNKNOWN_STEP', stepId: step.id, message: `condition '${step.id}' names unknown step '${target}'` });
        else if (!t.dependsOn.includes(step.id)) {
          problems.push({ code: 'BAD_BRANCH', stepId: step.id, message: `step '${target}' is a branch of condition '${step.id}' and must depend on it` });
        }
      }
      for (const target of step.then.filter((t) => step.else.includes(t))) {
        problems.push({ code: 'BAD_BRANCH', stepId: step.id, message: `step '${target}' is in both branches of condition '${step.id}': one of them is always skipped, and so would it be` });
      }
      // Exactly one branch runs and a step runs only when all it depends on completed: a step
      // waiting on both branches is always skipped (a join goes after each branch, not across them).
      for (const joiner of steps.filter((s) => s.dependsOn.some((d) => step.then.includes(d)) && s.dependsOn.some((d) => step.else.includes(d)))) {
        problems.push({ code: 'NEVER_RUNS', stepId: joiner.id, message: `step '${joiner.id}' depends on both branches of condition '${step.id}', so it would always be skipped` });
      }
    }
    if (step.compensation) check(templateSources(step.compensation.args), 'compensation', true);
  }
  return problems;
}

function findCycle(steps: readonly PlanStep[], byId: Map<string, PlanStep>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'visiting') return [...path.slice(path.indexOf(id)), id];
    state.set(id, 'visiting');
    path.push(id);
    for (const dep of byId.get(id)?.dependsOn ?? []) {
      if (!byId.has(dep) || dep === id) continue;
      const found = visit(dep);
      if (found) return found;
    }
    path.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const step of steps) {
    const found = visit(step.id);
    if (found) return found.reverse();
  }
  return undefined;
}

/** For each step, every step it transitively depends on (graph must be acyclic). */
function ancestorSets(steps: readonly PlanStep[], byId: Map<string, PlanStep>): Map<string, Set<string>> {
  const memo = new Map<string, Set<string>>();
  const of = (id: string): Set<string> => {
    const cached = memo.get(id);
    if (cached) return cached;
    const set = new Set<string>();
    for (const dep of byId.get(id)!.dependsOn) {
      set.add(dep);
      for (const a of of(dep)) set.add(a);
    }
    memo.set(id, set);
    return set;
  };
  for (const step of steps) of(step.id);
  return memo;
}

/** The first retry interval of a step whose retry policy sets none. */
export const DEFAULT_RETRY_INITIAL_MS = 1000;

/** Milliseconds of a Duration ('500ms', '5s', '10m', '2h', '1d', or a number of ms). */
export function durationMs(value: number | string): number {
  if (typeof value === 'number') return value;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(value);
  if (!m) throw new Error(`bad duration '${value}'`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Math.round(Number(m[1]) * unit);
}
