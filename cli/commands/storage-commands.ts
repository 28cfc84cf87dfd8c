import { printObject, printRows } from '../output';
import { arg, intFlag, jsonArg, queryString, stringFlag, type Command, type CommandContext } from './command-types';

type Entry = { key: string; value: unknown };

/** `ownpilot storage ...`: a plugin's key-value storage (admin and the plugin's own key only). */
export function storageCommands(): Record<string, Command> {
  const storage = (c: CommandContext) => `/api/v1/plugins/${encodeURIComponent(arg(c, 0, 'pluginId'))}/storage`;
  const keyPath = (c: CommandContext) => `${storage(c)}/${encodeURIComponent(arg(c, 1, 'key'))}`;
  return {
    // The API pages by offset and does not say whether more keys follow: a full page suggests the next --offset.
    'storage list': async (c) => {
      const limit = intFlag(c, 'limit') ?? 100;
      const offset = intFlag(c, 'offset') ?? 0;
      const entries = await c.api.get<Entry[]>(`${storage(c)}${queryString({ prefix: stringFlag(c, 'prefix'), limit, offset })}`);
      printRows(c.out, entries, entries, ['key', 'value']);
      if (!c.out.json && entries.length === limit) c.out.write(`more: --offset ${offset + entries.length}\n`);
    },
    'storage get': async (c) => printObject(c.out, await c.api.get<Entry>(keyPath(c))),
    'storage set': async (c) => {
      const value = jsonArg(c, 2, 'value');
      await c.api.put(keyPath(c), { value });
      printObject(c.out, { key: arg(c, 1, 'key'), stored: true });
    },
    'storage delete': async (c) => {
      await c.api.delete(keyPath(c));
      printObject(c.out, { key: arg(c, 1, 'key'), deleted: true });
    },
    'storage clear': async (c) => printObject(c.out, await c.api.delete<{ cleared: number }>(storage(c))),
  };
}
