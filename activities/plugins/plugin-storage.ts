import { z } from 'zod';
import type { PrismaClient } from '../../platform/database';
import { AppError, notFound } from '../../platform/errors';

export const STORAGE_LIMITS = { keyBytes: 256, valueBytes: 64 * 1024, keysPerPlugin: 10_000 } as const;

/** A storage key: printable, at most 256 bytes. */
export const StorageKey = z
  .string()
  .min(1)
  .refine((k) => Buffer.byteLength(k) <= STORAGE_LIMITS.keyBytes, `keys are at most ${STORAGE_LIMITS.keyBytes} bytes`)
  .refine((k) => ![...k].some((c) => c.charCodeAt(0) < 0x20), 'keys may not contain control characters');

/** `list` options: keys starting with `prefix`, in key order, paged. */
export const StorageListQuery = z.object({
  prefix: z.string().max(STORAGE_LIMITS.keyBytes).default(''),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});
export type StorageListQuery = z.input<typeof StorageListQuery>;

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * Key-value storage scoped to one plugin over plugin_storage: every statement is bound to
 * `pluginId`, so nothing here can reach another plugin's keys. Values are JSON, at most 64 KiB.
 */
export function createPluginStorage(prisma: PrismaClient, pluginId: string) {
  return {
    pluginId,

    /** The value under `key`, or undefined. */
    async get(key: string): Promise<unknown> {
      const row = await prisma.pluginStorage.findUnique({ where: { pluginId_key: { pluginId, key: StorageKey.parse(key) } } });
      return row?.value;
    },

    /**
     * Stores `value`; VALIDATION_FAILED for a bad key or a value that is not JSON or too large,
     * CONFLICT beyond the key quota, NOT_FOUND without the plugin, INVALID_STATE while it is uninstalled.
     */
    async set(key: string, value: unknown): Promise<void> {
      StorageKey.parse(key);
      const json = value === undefined ? undefined : JSON.stringify(value);
      if (json === undefined) throw new AppError('VALIDATION_FAILED', 'storage values must be JSON');
      if (Buffer.byteLength(json) > STORAGE_LIMITS.valueBytes) {
        throw new AppError('VALIDATION_FAILED', `storage values are at most ${STORAGE_LIMITS.valueBytes} bytes`, { bytes: Buffer.byteLength(json) });
      }
      const existing = await prisma.pluginStorage.findUnique({ where: { pluginId_key: { pluginId, key } }, select: { key: true } });
      if (!existing && (await prisma.pluginStorage.count({ where: { pluginId } })) >= STORAGE_LIMITS.keysPerPlugin) {
        throw new AppError('CONFLICT', `plugin '${pluginId}' already stores ${STORAGE_LIMITS.keysPerPlugin} keys`);
      }
      // Written only while the plugin exists and is not being uninstalled, checked under a share
      // lock on its row: a write racing the uninstall either lands before the uninstall begins (and
      // is cleared with the rest) or is refused, never left for a later install of the same id.
      const written = await prisma.$executeRaw`
        INSERT INTO plugin_storage (plugin_id, key, value, updated_at)
        SELECT ${pluginId}, ${key}, ${json}::jsonb, NOW()
        WHERE EXISTS (SELECT 1 FROM plugins WHERE id = ${pluginId} AND status <> 'uninstalling' FOR SHARE)
        ON CONFLICT (plugin_id, key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`;
      if (written === 0) {
        const plugin = await prisma.plugin.findUnique({ where: { id: pluginId }, select: { status: true } });
        throw plugin ? new AppError('INVALID_STATE', `plugin '${pluginId}' is ${plugin.status}`, { status: plugin.status }) : notFound('plugin', pluginId);
      }
    },

    /** Removes `key`; returns whether it existed. */
    async delete(key: string): Promise<boolean> {
      const { count } = await prisma.pluginStorage.deleteMany({ where: { pluginId, key: StorageKey.parse(key) } });
      return count > 0;
    },

    /** Keys (with values) under a prefix, in key order. */
    async list(query: StorageListQuery = {}): Promise<{ key: string; value: unknown }[]> {
      const q = StorageListQuery.parse(query);
      const rows = await prisma.$queryRaw<{ key: string; value: unknown }[]>`
        SELECT key, value FROM plugin_storage
        WHERE plugin_id = ${pluginId} AND key LIKE ${`${escapeLike(q.prefix)}%`}
        ORDER BY key LIMIT ${q.limit} OFFSET ${q.offset}`;
      return rows;
    },

    /** Removes every key of this plugin; returns how many. */
    async clear(): Promise<number> {
      const { count } = await prisma.pluginStorage.deleteMany({ where: { pluginId } });
      return count;
    },
  };
}
export type PluginStorage = ReturnType<typeof createPluginStorage>;
