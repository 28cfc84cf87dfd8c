import { arg, UsageError, type Command, type CommandContext } from './command-types';
import { isFinal, renderProgress, stepLines } from './run-progress';
import { printObject, printRows } from '../output';

type Row = Record<string, unknown>;

function parseJsonFlag(context: CommandContext, name: string): unknown {
  const raw = context.flags[name];
  if (raw === undefined || raw === true || raw === false) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    throw new UsageError(`--${name} must be JSON`);
  }
}

/** Polls a run until it ends, redrawing one line per step (in place on a terminal). */
async function follow(context: CommandContext, runId: string, isTty: boolean): Promise<void> {
  const { out } = context;
  if (!out.json) out.write(`following ${runId} — ${context.workflowUrl(runId)}\n`);
  let drawn = 0;
  let previous = '';
  for (;;) {
    const run = await context.api.get<Row & { status: string }>(`/api/v1/plans/runs/${encodeURIComponent(runId)}`);
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
      if (run.status !== 'completed') process.exitCode = 1;
      return;
    }
    await context.sleep(500);
  }
}

/** `ownpilot plans <list|get|create|execute>` and `ownpilot runs <...>`. */
export function planCommands(isTty: boolean): Record<string, Command> {
  return {
    'plans list': async (c) => {
      const plans = await c.api.get<Row[]>('/api/v1/plans');
      printRows(c.out, plans, plans, ['id', 'name', 'version', 'runCount', 'updatedAt']);
    },
    'plans get': async (c) => printObject(c.out, await c.api.get<Row>(`/api/v1/plans/${encodeURIComponent(arg(c, 0, 'planId'))}`)),
    'plans create': async (c) => {
      const plan = await c.api.post<Row>('/api/v1/plans', c.readJson(arg(c, 0, 'file.json')));
      printObject(c.out, { id: plan.id, name: plan.name, version: plan.version });
    },
    'plans execute': async (c) => {
      const started = await c.api.post<{ runId: string }>(`/api/v1/plans/${encodeURIComponent(arg(c, 0, 'planId'))}/execute`, {
        input: parseJsonFlag(c, 'input') ?? {},
      });
      if (c.flags.follow) return follow(c, started.runId, isTty);
      printObject(c.out, { ...started, webUi: c.workflowUrl(started.runId) });
    },
    'runs list': async (c) => {
      const runs = await c.api.get<Row[]>(`/api/v1/plans/${encodeURIComponent(arg(c, 0, 'planId'))}/runs`);
      printRows(c.out, runs, runs, ['id', 'status', 'startedBy', 'startedAt', 'finishedAt']);
    },
    'runs get': async (c) => printObject(c.out, await c.api.get<Row>(`/api/v1/plans/runs/${encodeURIComponent(arg(c, 0, 'runId'))}`)),
    'runs follow': (c) => follow(c, arg(c, 0, 'runId'), isTty),
    ...Object.fromEntries(
      (['pause', 'resume', 'cancel'] as const).map((action) => [
        `runs ${action}`,
        (async (c) => printObject(c.out, (await c.api.post<Row>(`/api/v1/plans/runs/${encodeURIComponent(arg(c, 0, 'runId'))}/${action}`)) ?? { ok: true })) as Command,
      ]),
    ),
    'runs rollback': async (c) => {
      const checkpointId = typeof c.flags.checkpoint === 'string' ? c.flags.checkpoint : undefined;
      printObject(c.out, (await c.api.post<Row>(`/api/v1/plans/runs/${encodeURIComponent(arg(c, 0, 'runId'))}/rollback`, checkpointId ? { checkpointId } : {})) ?? { ok: true });
    },
    ...Object.fromEntries(
      (['approve', 'reject'] as const).map((action) => [
        `runs ${action}`,
        (async (c) => {
          const path = `/api/v1/plans/runs/${encodeURIComponent(arg(c, 0, 'runId'))}/steps/${encodeURIComponent(arg(c, 1, 'stepId'))}/${action}`;
          printObject(c.out, (await c.api.post<Row>(path)) ?? { ok: true });
        }) as Command,
      ]),
    ),
  };
}
