import { z } from 'zod';
import type { PrismaClient } from '../../platform/database';
import { AppError } from '../../platform/errors';
import { defineTool, type BuiltinTool } from '../tools/tool-types';
import { PluginManifest } from './plugin-manifest';
import { createPluginStorage, StorageKey } from './plugin-storage';

const KeyArgs = z.object({ key: StorageKey });
const SetArgs = z.object({ key: StorageKey, value: z.json() });
const ListArgs = z.object({ prefix: z.string().max(256).optional(), limit: z.number().int().min(1).max(1000).optional(), offset: z.number().int().min(0).optional() });
const schema = (s: z.ZodType) => z.toJSONSchema(s, { unrepresentable: 'any', io: 'input' }) as Record<string, unknown>;

/**
 * core.storage.get/set/delete/list: a plugin's sandboxed code reaches its own plugin_storage
 * keys. The plugin is the caller's principal (a plugin tool always acts as its plugin), so no
 * argument can name another plugin's storage; callers that are not plugins, or plugins without
 * the `storage` permission, get FORBIDDEN.
 */
export function createPluginStorageTools(prisma: PrismaClient): readonly BuiltinTool[] {
  const storageFor = async (requesterId: string) => {
    const match = /^plugin:(.+)$/.exec(requesterId);
    if (!match) throw new AppError('FORBIDDEN', 'core.storage.* is for plugins (it stores under the calling plugin)');
    const plugin = await prisma.plugin.findUnique({ where: { id: match[1]! }, select: { manifest: true } });
    const manifest = plugin && PluginManifest.safeParse(plugin.manifest);
    if (!manifest?.success || !manifest.data.permissions.includes('storage')) {
      throw new AppError('FORBIDDEN', `${requesterId} did not request the 'storage' permission`);
    }
    return createPluginStorage(prisma, match[1]!);
  };
  const tool = <A>(name: string, description: string, args: z.ZodType<A>, run: (storage: Awaited<ReturnType<typeof storageFor>>, a: A) => Promise<unknown>) =>
    defineTool({
      definition: { name: `core.storage.${name}`, description, category: 'storage', parameters: schema(args), tags: ['storage', 'plugin'] },
      args,
      execute: async (a, context) => run(await storageFor(context.requesterId), a),
    });
  return [
    tool('get', "Reads a key of the calling plugin's storage (null when absent)", KeyArgs, async (s, { key }) => ({ key, value: (await s.get(key)) ?? null })),
    tool('set', "Writes a JSON value under a key of the calling plugin's storage", SetArgs, async (s, { key, value }) => {
      await s.set(key, value);
      return { key };
    }),
    tool('delete', "Deletes a key of the calling plugin's storage", KeyArgs, async (s, { key }) => ({ key, deleted: await s.delete(key) })),
    tool('list', "Lists keys (with values) of the calling plugin's storage under a prefix", ListArgs, async (s, query) => ({ items: await s.list(query) })),
  ] as readonly BuiltinTool[];
}
