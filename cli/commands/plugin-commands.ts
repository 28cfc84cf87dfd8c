import { printObject, printRows } from '../output';
import { arg, type Command, type CommandContext } from './command-types';

type Row = Record<string, unknown>;

/** `ownpilot plugins ...`: install, inspect, toggle and uninstall plugins (lifecycle is admin only). */
export function pluginCommands(): Record<string, Command> {
  const id = (c: CommandContext) => encodeURIComponent(arg(c, 0, 'pluginId'));
  return {
    'plugins list': async (c) => {
      const plugins = await c.api.get<Row[]>('/api/v1/plugins');
      printRows(c.out, plugins, plugins, ['id', 'status', 'installedAt', 'errorMessage']);
    },
    'plugins get': async (c) => printObject(c.out, await c.api.get<Row>(`/api/v1/plugins/${id(c)}`)),
    'plugins install': async (c) => printObject(c.out, await c.api.post<Row>('/api/v1/plugins', c.readJson(arg(c, 0, 'manifest.json')))),
    'plugins uninstall': async (c) => printObject(c.out, (await c.api.delete<Row>(`/api/v1/plugins/${id(c)}${c.flags.force === true ? '?force=true' : ''}`)) ?? { ok: true }),
    'plugins enable': async (c) => printObject(c.out, await c.api.post<Row>(`/api/v1/plugins/${id(c)}/enable`)),
    'plugins disable': async (c) => printObject(c.out, await c.api.post<Row>(`/api/v1/plugins/${id(c)}/disable`)),
  };
}
