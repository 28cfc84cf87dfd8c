import { templateSources } from '../../workflows/plan-template';
import { invalidArguments, type ArgumentIssue } from '../tools/args-validator';
import type { ToolExecutor } from '../tools/tool-executor';
import type { PlanStep } from './plan-schemas';

/** A problem with a tool call of a plan, reported among the definition's other problems. */
export interface ToolCallProblem {
  code: 'UNKNOWN_TOOL' | 'BAD_ARGS';
  stepId: string;
  tool: string;
  message: string;
  /** BAD_ARGS: every issue the tool's validator found that no template could remove. */
  issues?: ArgumentIssue[];
}

/** A step's tool calls: its own (a tool step's) and its compensation. */
function toolCallsOf(step: PlanStep): { stepId: string; tool: string; args: Record<string, unknown>; what: string }[] {
  return [
    ...(step.kind === 'tool' ? [{ stepId: step.id, tool: step.tool, args: step.args, what: `step '${step.id}'` }] : []),
    ...(step.compensation ? [{ stepId: step.id, ...step.compensation, what: `compensation of step '${step.id}'` }] : []),
  ];
}

/** A string holding a `{{ }}` template: resolved when the step runs, so any value when the plan is saved. */
const hasTemplate = (text: string): boolean => templateSources(text).length > 0;

/** Save-time checks of the tools a plan's steps and compensations call. */
export function createPlanToolCheck({ tools }: { tools: Pick<ToolExecutor, 'exists' | 'assertMayRunTool' | 'argumentIssues'> }) {
  /**
   * FORBIDDEN for a tool `owner` may not run; otherwise a problem for each call of a tool that does
   * not exist (UNKNOWN_TOOL) and each call whose arguments the tool's own validation refuses
   * whatever its templates resolve to (BAD_ARGS, templated-args.ts).
   */
  return async function toolCallProblems(steps: readonly PlanStep[], owner: string): Promise<ToolCallProblem[]> {
    const calls = steps.flatMap(toolCallsOf);
    const names = [...new Set(calls.map((c) => c.tool))];
    const exists = await Promise.all(names.map((n) => tools.exists(n)));
    const known = new Set(names.filter((_, i) => exists[i]));
    // Steps run for the starter (the owner, admin, or a trigger firing for either): a tool the owner may not run is refused now, not at run time.
    for (const name of known) await tools.assertMayRunTool(name, owner);
    const issues = await Promise.all(calls.map((c) => (known.has(c.tool) ? tools.argumentIssues(c.tool, c.args, hasTemplate) : [])));
    return calls.flatMap((c, i): ToolCallProblem[] => {
      if (!known.has(c.tool)) return [{ code: 'UNKNOWN_TOOL', stepId: c.stepId, tool: c.tool, message: `${c.what} uses unknown tool '${c.tool}'` }];
      const found = issues[i]!;
      return found.length === 0 ? [] : [{ code: 'BAD_ARGS', stepId: c.stepId, tool: c.tool, message: `${c.what}: ${invalidArguments(c.tool, found).message}`, issues: found }];
    });
  };
}
