import { printObject, printRows } from '../output';
import { arg, jsonFlag, type Command, type CommandContext } from './command-types';

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
    'triggers history': async (c) => {
      const page = await c.api.get<{ items?: Row[] } | Row[]>(`/api/v1/triggers/${id(c)}/history`);
      const rows = Array.isArray(page) ? page : (page.items ?? []);
      printRows(c.out, page, rows, ['firedAt', 'status', 'durationMs', 'workflowId', 'error']);
    },
  };
}
