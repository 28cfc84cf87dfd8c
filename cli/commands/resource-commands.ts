import { printObject, printRows } from '../output';
import { arg, jsonFlag, type Command } from './command-types';
import { tailEvents } from './event-tail';

type Row = Record<string, unknown>;

/** `ownpilot triggers|plugins|events ...`: list, create, inspect and toggle through the API. */
export function resourceCommands(): Record<string, Command> {
  const id = (c: Parameters<Command>[0], name: string) => encodeURIComponent(arg(c, 0, name));
  return {
    'triggers list': async (c) => {
      const triggers = await c.api.get<Row[]>('/api/v1/triggers');
      printRows(c.out, triggers, triggers, ['id', 'name', 'type', 'isEnabled', 'updatedAt']);
    },
    'triggers get': async (c) => printObject(c.out, await c.api.get<Row>(`/api/v1/triggers/${id(c, 'triggerId')}`)),
    'triggers create': async (c) => printObject(c.out, await c.api.post<Row>('/api/v1/triggers', c.readJson(arg(c, 0, 'file.json')))),
    'triggers update': async (c) => printObject(c.out, await c.api.patch<Row>(`/api/v1/triggers/${id(c, 'triggerId')}`, c.readJson(arg(c, 1, 'patch.json')))),
    'triggers delete': async (c) => {
      await c.api.delete(`/api/v1/triggers/${id(c, 'triggerId')}`);
      printObject(c.out, { id: arg(c, 0, 'triggerId'), deleted: true });
    },
    // A webhook's new secret is shown once, as at create.
    'triggers rotate-secret': async (c) => printObject(c.out, await c.api.post<Row>(`/api/v1/triggers/${id(c, 'triggerId')}/rotate-secret`)),
    'triggers enable': async (c) => printObject(c.out, await c.api.post<Row>(`/api/v1/triggers/${id(c, 'triggerId')}/enable`)),
    'triggers disable': async (c) => printObject(c.out, await c.api.post<Row>(`/api/v1/triggers/${id(c, 'triggerId')}/disable`)),
    'triggers fire': async (c) => {
      const payload = jsonFlag(c, 'payload');
      printObject(c.out, await c.api.post<Row>(`/api/v1/triggers/${id(c, 'triggerId')}/execute`, payload === undefined ? {} : { payload }));
    },
    'triggers history': async (c) => {
      const page = await c.api.get<{ items?: Row[] } | Row[]>(`/api/v1/triggers/${id(c, 'triggerId')}/history`);
      const rows = Array.isArray(page) ? page : (page.items ?? []);
      printRows(c.out, page, rows, ['firedAt', 'status', 'durationMs', 'workflowId', 'error']);
    },
    'plugins list': async (c) => {
      const plugins = await c.api.get<Row[]>('/api/v1/plugins');
      printRows(c.out, plugins, plugins, ['id', 'status', 'installedAt', 'errorMessage']);
    },
    'plugins get': async (c) => printObject(c.out, await c.api.get<Row>(`/api/v1/plugins/${id(c, 'pluginId')}`)),
    'plugins install': async (c) => printObject(c.out, await c.api.post<Row>('/api/v1/plugins', c.readJson(arg(c, 0, 'manifest.json')))),
    'plugins uninstall': async (c) => printObject(c.out, (await c.api.delete<Row>(`/api/v1/plugins/${id(c, 'pluginId')}${c.flags.force === true ? '?force=true' : ''}`)) ?? { ok: true }),
    'plugins enable': async (c) => printObject(c.out, await c.api.post<Row>(`/api/v1/plugins/${id(c, 'pluginId')}/enable`)),
    'plugins disable': async (c) => printObject(c.out, await c.api.post<Row>(`/api/v1/plugins/${id(c, 'pluginId')}/disable`)),
    'events tail': (c) => tailEvents(c, typeof c.flags.type === 'string' ? c.flags.type : undefined, typeof c.flags.since === 'string' ? c.flags.since : undefined),
  };
}
