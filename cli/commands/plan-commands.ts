import { arg, jsonFlag, stringFlag, type Command, type CommandContext } from './command-types';
import { isFinal, renderProgress, stepLines } from './run-progress';
import { renderPlan, type PlanViewBody } from './plan-view';
import { renderRun, type RunViewBody } from './run-view';
import { printObject, printRows } from '../output';

type Row = Record<string, unknown>;

/** How long a run may stay pending before `follow` asks /health whether any worker polls. */
const NO_WORKER_HINT_MS = 5_000;

/** Polls a run until it ends, redrawing one line per step (in place on a terminal); exit code 1 unless it completed. */
async function follow(context: CommandContext, runId: string, isTty: boolean): Promise<number> {
  const { out } = context;
  if (!out.json) out.write(`following ${runId} — ${context.workflowUrl(runId)}\n`);
  let drawn = 0;
  let previous = '';
  const began = Date.now();
  let asked = false;
  for (;;) {
    const run = await context.api.get<Row & { status: string }>(`/api/v1/plans/runs/${encodeURIComponent(runId)}`);
    // A run nobody picks up stays pending without a word: say why when no worker polls.
    if (!asked && !out.json && run.status === 'pending' && Date.now() - began >= NO_WORKER_HINT_MS) {
      asked = true;
      const health = await context.api.get<{ workers?: { polling?: number; error?: string } }>('/health').catch(() => undefined);
      if (health?.workers?.polling === 0) {
        out.write(`waiting: ${health.workers.error ?? 'no worker polls the task queue'}\n`);
        drawn = 0; // the block is drawn again below the hint, not over it
        previous = '';
      }
    }
    const lines = renderProgress(run.status, stepLines(run));
    const text = lines.join('\n');
    if (!out.json && text !== previous) {
      if (isTty && drawn > 0) out.write(`\x1b[${drawn}A\x1b[J`);
      out.write(`${text}\n`);
      drawn = lines.length;
      previous = text;
    }
    if (isFinal(run.status)) {
      if (out.json) out.write(`${JSON.stringify(run, null, 2)}\n`);
      return run.status === 'completed' ? 0 : 1;
    }
    await context.sleep(500);
  }
}

/** Prints a run: JSON for scripts, `renderRun` for people. */
function printRun(context: CommandContext, run: RunViewBody): void {
  if (context.out.json) context.out.write(`${JSON.stringify(run, null, 2)}\n`);
  else context.out.write(`${renderRun(run, context.workflowUrl).join('\n')}\n`);
}

const runPath = (context: CommandContext) => `/api/v1/plans/runs/${encodeURIComponent(arg(context, 0, 'runId'))}`;

/** `ownpilot plans <list|get|create|update|delete|execute|history>` and `ownpilot runs <...>`. */
export function planCommands(isTty: boolean): Record<string, Command> {
  return {
    'plans list': async (c) => {
      const plans = await c.api.get<Row[]>('/api/v1/plans');
      printRows(c.out, plans, plans, ['id', 'name', 'version', 'runCount', 'updatedAt']);
    },
    'plans get': async (c) => {
      const plan = await c.api.get<PlanViewBody>(`/api/v1/plans/${encodeURIComponent(arg(c, 0, 'planId'))}`);
      const { header, steps } = renderPlan(plan);
      if (!c.out.json) c.out.write(`${header.join('\n')}\n`);
      printRows(c.out, plan, steps, ['step', 'kind', 'what', 'after', 'undo']);
    },
    'plans create': async (c) => {
      const plan = await c.api.post<Row>('/api/v1/plans', c.readJson(arg(c, 0, 'file.json')));
      printObject(c.out, { id: plan.id, name: plan.name, version: plan.version });
    },
    'plans update': async (c) => {
      const plan = await c.api.patch<Row>(`/api/v1/plans/${encodeURIComponent(arg(c, 0, 'planId'))}`, c.readJson(arg(c, 1, 'patch.json')));
      printObject(c.out, { id: plan.id, name: plan.name, version: plan.version });
    },
    'plans delete': async (c) => {
      const planId = arg(c, 0, 'planId');
      await c.api.delete(`/api/v1/plans/${encodeURIComponent(planId)}`);
      printObject(c.out, { id: planId, deleted: true });
    },
    'plans execute': async (c) => {
      const started = await c.api.post<{ runId: string }>(`/api/v1/plans/${encodeURIComponent(arg(c, 0, 'planId'))}/execute`, {
        input: jsonFlag(c, 'input') ?? {},
      });
      if (c.flags.follow) return follow(c, started.runId, isTty);
      printObject(c.out, { ...started, webUi: c.workflowUrl(started.runId) });
    },
    'plans history': async (c) => {
      const runs = await c.api.get<(Row & { history: Row[] })[]>(`/api/v1/plans/${encodeURIComponent(arg(c, 0, 'planId'))}/history`);
      // Newest run first, each run's transitions in the order they happened.
      const rows = runs.flatMap((run) => run.history.map((h) => ({ ...h, runId: run.id })));
      printRows(c.out, runs, rows, ['createdAt', 'runId', 'stepId', 'event', 'status']);
    },
    'runs list': async (c) => {
      const runs = await c.api.get<Row[]>(`/api/v1/plans/${encodeURIComponent(arg(c, 0, 'planId'))}/runs`);
      printRows(c.out, runs, runs, ['id', 'status', 'startedBy', 'via', 'startedAt', 'finishedAt']);
    },
    'runs get': async (c) => printRun(c, await c.api.get<RunViewBody>(runPath(c))),
    'runs follow': (c) => follow(c, arg(c, 0, 'runId'), isTty),
    // Pause and resume answer the run's state once the workflow has taken the request.
    ...Object.fromEntries((['pause', 'resume'] as const).map((action) => [`runs ${action}`, (async (c) => printRun(c, await c.api.post<RunViewBody>(`${runPath(c)}/${action}`))) as Command])),
    'runs cancel': async (c) => printObject(c.out, await c.api.post<Row>(`${runPath(c)}/cancel`)),
    'runs checkpoint': async (c) => {
      const name = stringFlag(c, 'name');
      printObject(c.out, await c.api.post<Row>(`${runPath(c)}/checkpoint`, name === undefined ? {} : { name }));
    },
    'runs rollback': async (c) => {
      const checkpointId = stringFlag(c, 'checkpoint');
      printRun(c, await c.api.post<RunViewBody>(`${runPath(c)}/rollback`, checkpointId ? { checkpointId } : {}));
    },
    'runs approvals': async (c) => {
      const { approvals } = await c.api.get<{ approvals: Row[] }>(`/api/v1/plans/approvals${c.flags.all ? '?all=true' : ''}`);
      // Every waiting step (admin) is not all the caller's: the approvers say whose it is.
      const approvers = approvals.map((a) => ({ ...a, approvers: (a.approvers as string[]).join(',') }));
      printRows(c.out, approvals, approvers, ['requestedAt', 'runId', 'stepId', 'planName', ...(c.flags.all ? ['approvers'] : []), 'message']);
    },
    ...Object.fromEntries(
      (['approve', 'reject'] as const).map((action) => [
        `runs ${action}`,
        (async (c) => {
          const comment = stringFlag(c, 'comment');
          printObject(c.out, await c.api.post<Row>(`${runPath(c)}/steps/${encodeURIComponent(arg(c, 1, 'stepId'))}/${action}`, comment === undefined ? {} : { comment }));
        }) as Command,
      ]),
    ),
  };
}
