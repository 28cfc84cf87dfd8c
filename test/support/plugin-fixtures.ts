import type { PluginManifestInput } from '../../activities/plugins/plugin-manifest';
import type { PrismaClient } from '../../platform/database';

/** A small valid manifest: one table, two tools (one subscribed to `plugin.<id>.ping`-style events), storage. */
export function testPluginManifest(id: string, overrides: Partial<PluginManifestInput> = {}): PluginManifestInput {
  return {
    id,
    name: `test ${id}`,
    version: '1.0.0',
    permissions: ['tools', 'tables', 'events.subscribe', 'storage'],
    tables: [{ name: 'items', columns: [{ name: 'k', type: 'text', primaryKey: true }, { name: 'v', type: 'json' }] }],
    tools: [
      {
        name: 'on_event',
        description: 'stores the event id in the plugin table',
        parameters: { type: 'object', properties: { event: { type: 'object' }, config: { type: 'object' } }, required: ['event'] },
        allowedTools: ['core.db.query'],
        code: `await tools.call('core.db.query', { sql: 'INSERT INTO plugin_${id}_items (k, v) VALUES ($1, $2)', params: [args.event.id, JSON.stringify(args.event.data)] }); return { ok: true };`,
      },
      { name: 'double', description: 'doubles a number', parameters: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] }, code: 'return { n: args.n * 2 };' },
    ],
    subscriptions: [{ pattern: `agent.${id}`, tool: 'on_event' }],
    config: { schema: { type: 'object', properties: { level: { type: 'integer', minimum: 1 } }, additionalProperties: false }, defaults: { level: 1 } },
    ...overrides,
  };
}

/** Everything plugin `id` owns, as found in the database: tables, their metadata, tools, subscriptions, storage rows. */
export async function pluginFootprint(prisma: PrismaClient, id: string) {
  return {
    tables: (await prisma.$queryRaw<{ tablename: string }[]>`SELECT tablename FROM pg_tables WHERE tablename LIKE ${`plugin\\_${id}\\_%`}`).map((r) => r.tablename).sort(),
    metadata: (await prisma.tableMetadata.findMany({ where: { ownerId: `plugin:${id}` } })).map((r) => r.tableName),
    tools: (await prisma.toolRegistry.findMany({ where: { source: 'plugin', sourceId: id } })).map((r) => r.name).sort(),
    subscriptions: await prisma.pluginEventSubscription.count({ where: { pluginId: id } }),
    storage: await prisma.pluginStorage.count({ where: { pluginId: id } }),
  };
}
