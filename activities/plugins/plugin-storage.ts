import { z } from 'zod';
import type { PrismaClient } from '../../platform/database';
import { AppError } from '../../platform/errors';
import { asJson } from '../../platform/json';

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

    /** Stores `value`; VALIDATION_FAILED for a bad key or a value that is not JSON or too large, CONFLICT beyond the key quota. */
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
      await prisma.pluginStorage.upsert({
        where: { pluginId_key: { pluginId, key } },
        create: { pluginId, key, value: asJson(JSON.parse(json)) },
        update: { value: asJson(JSON.parse(json)), updatedAt: new Date() },
      });
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
