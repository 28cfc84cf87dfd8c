import { printObject, printRows } from '../output';
import { arg, stringFlag, UsageError, type Command, type CommandContext } from './command-types';

type Row = Record<string, unknown>;
type Plugin = Row & { config?: Record<string, unknown> };

/** Prints a plugin's config; the API leaves it out for callers other than admin and the plugin itself. */
function printConfig(c: CommandContext, plugin: Plugin): void {
  if (plugin.config === undefined) throw new Error(`the API shows the config of plugin '${String(plugin.id)}' only to admin and the plugin itself`);
  if (!c.out.json && Object.keys(plugin.config).length === 0) c.out.write('(empty)\n');
  else printObject(c.out, plugin.config);
}

/** `ownpilot plugins ...`: install, upgrade, inspect, toggle, configure and uninstall plugins (lifecycle and config are admin only). */
export function pluginCommands(): Record<string, Command> {
  const id = (c: CommandContext) => encodeURIComponent(arg(c, 0, 'pluginId'));
  return {
    'plugins list': async (c) => {
      const plugins = await c.api.get<Row[]>('/api/v1/plugins');
      printRows(c.out, plugins, plugins, ['id', 'status', 'installedAt', 'errorMessage']);
    },
    'plugins get': async (c) => printObject(c.out, await c.api.get<Row>(`/api/v1/plugins/${id(c)}`)),
    'plugins install': async (c) => printObject(c.out, await c.api.post<Row>('/api/v1/plugins', c.readJson(arg(c, 0, 'manifest.json')))),
    'plugins upgrade': async (c) => {
      const manifestFile = arg(c, 1, 'manifest.json');
      const configFile = stringFlag(c, 'config');
      // standard input can be read once
      if (manifestFile === '-' && configFile === '-') throw new UsageError('<manifest.json> and --config cannot both be - (standard input)', false);
      const body = {
        manifest: c.readJson(manifestFile),
        ...(configFile === undefined ? {} : { config: c.readJson(configFile) }),
        dropRemovedTables: c.flags['drop-removed-tables'] === true,
      };
      printObject(c.out, await c.api.post<Row>(`/api/v1/plugins/${id(c)}/upgrade${c.flags.force === true ? '?force=true' : ''}`, body));
    },
    'plugins uninstall': async (c) => printObject(c.out, (await c.api.delete<Row>(`/api/v1/plugins/${id(c)}${c.flags.force === true ? '?force=true' : ''}`)) ?? { ok: true }),
    'plugins enable': async (c) => printObject(c.out, await c.api.post<Row>(`/api/v1/plugins/${id(c)}/enable`)),
    'plugins disable': async (c) => printObject(c.out, await c.api.post<Row>(`/api/v1/plugins/${id(c)}/disable`)),
    // The API has no config route to read: the plugin's own answer carries it.
    'plugins config': async (c) => printConfig(c, await c.api.get<Plugin>(`/api/v1/plugins/${id(c)}`)),
    'plugins set-config': async (c) => {
      const config = c.readJson(arg(c, 1, 'config.json'));
      printConfig(c, await c.api.put<Plugin>(`/api/v1/plugins/${id(c)}/config`, { config }));
    },
  };
}
