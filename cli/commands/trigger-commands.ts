import { printObject, printRows } from '../output';
import { OVERLAP_POLICIES } from '../../activities/triggers/trigger-schemas';
import { arg, jsonFlag, stringFlag, UsageError, type Command, type CommandContext } from './command-types';
import { instantFlag } from './time-flags';

type Row = Record<string, unknown>;

/** `ownpilot triggers ...`: create, inspect, change, toggle and fire triggers. */
export function triggerCommands(): Record<string, Command> {
  const id = (c: CommandContext) => encodeURIComponent(arg(c, 0, 'triggerId'));
  return {
    'triggers list': async (c) => {
      const triggers = await c.api.get<Row[]>('/api/v1/triggers');
      printRows(c.out, triggers, triggers, ['id', 'name', 'type', 'isEnabled', 'updatedAt']);
    },
    'triggers get': async (c) => printObject(c.out, await c.api.get<Row>(`/api/v1/triggers/${id(c)}`)),
    'triggers create': async (c) => printObject(c.out, await c.api.post<Row>('/api/v1/triggers', c.readJson(arg(c, 0, 'file.json')))),
    'triggers update': async (c) => printObject(c.out, await c.api.patch<Row>(`/api/v1/triggers/${id(c)}`, c.readJson(arg(c, 1, 'patch.json')))),
    'triggers delete': async (c) => {
      await c.api.delete(`/api/v1/triggers/${id(c)}`);
      printObject(c.out, { id: arg(c, 0, 'triggerId'), deleted: true });
    },
    // A webhook's new secret is shown once, as at create.
    'triggers rotate-secret': async (c) => printObject(c.out, await c.api.post<Row>(`/api/v1/triggers/${id(c)}/rotate-secret`)),
    'triggers enable': async (c) => printObject(c.out, await c.api.post<Row>(`/api/v1/triggers/${id(c)}/enable`)),
    'triggers disable': async (c) => printObject(c.out, await c.api.post<Row>(`/api/v1/triggers/${id(c)}/disable`)),
    'triggers fire': async (c) => {
      const payload = jsonFlag(c, 'payload');
      printObject(c.out, await c.api.post<Row>(`/api/v1/triggers/${id(c)}/execute`, payload === undefined ? {} : { payload }));
    },
    'triggers backfill': async (c) => {
      const start = instantFlag(c, 'start');
      const end = instantFlag(c, 'end');
      if (start === undefined || end === undefined) throw new UsageError('backfill needs --start and --end (ISO 8601 times, or durations ago such as 2h)');
      const overlap = stringFlag(c, 'overlap');
      // Checked here too, so a typo gets the list of policies rather than a schema issue.
      if (overlap !== undefined && !(OVERLAP_POLICIES as readonly string[]).includes(overlap)) throw new UsageError(`--overlap must be one of ${OVERLAP_POLICIES.join(', ')}`, false);
      printObject(c.out, await c.api.post<Row>(`/api/v1/triggers/${id(c)}/backfill`, { start, end, ...(overlap === undefined ? {} : { overlap }) }));
    },
    'triggers history': async (c) => {
      const page = await c.api.get<{ items?: Row[] } | Row[]>(`/api/v1/triggers/${id(c)}/history`);
      const rows = Array.isArray(page) ? page : (page.items ?? []);
      printRows(c.out, page, rows, ['firedAt', 'status', 'durationMs', 'workflowId', 'error']);
    },
  };
}
