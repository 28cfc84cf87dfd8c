import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { PrismaClient } from '../../platform/database';
import { AppError, notFound } from '../../platform/errors';
import { newId } from '../../platform/ids';
import { BootstrapKey, type CreateApiKeyBody } from './api-key-schemas';

/**
 * PostgreSQL NOTIFY channel on which key changes are announced to every process; so is every
 * change of a plugin's status (a trigger on `plugins`, migration 0018), as keys carry it.
 */
export const AUTH_CHANNEL = 'ownpilot_auth';

/** Who a valid key speaks for. */
export interface Authenticated {
  keyId: string;
  principal: string;
  /** A plugin's key: the status of its plugin (absent while no plugin of that id is installed). */
  pluginStatus?: string;
}

export interface ApiKeyServiceDeps {
  prisma: PrismaClient;
  /** How long a successful lookup is trusted without asking the database (revocations in this process and NOTIFYs clear it at once). */
  cacheTtlMs?: number;
  now?: () => number;
}

const LAST_USED_RESOLUTION_MS = 60_000;

function hashKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** A fresh random key: `op_` + 32 random bytes in base64url (256 bits). */
function generateKey(): string {
  return `op_${randomBytes(32).toString('base64url')}`;
}

/** The plugin id of a `plugin:<id>` principal. */
const pluginIdOf = (principal: string) => (principal.startsWith('plugin:') ? principal.slice('plugin:'.length) : undefined);

/**
 * Revokes every active key of `principal` inside the caller's transaction; returns how many. The
 * caller announces it on AUTH_CHANNEL (caches elsewhere forget at commit, when it becomes visible).
 */
export async function revokeKeysOf(tx: Pick<PrismaClient, 'apiKey'>, principal: string, at: Date): Promise<number> {
  return (await tx.apiKey.updateMany({ where: { principal, revokedAt: null }, data: { revokedAt: at } })).count;
}

/** API keys: created shown-once, stored as sha256, looked up through a small revocation-aware cache. */
export function createApiKeyService({ prisma, cacheTtlMs = 10_000, now = Date.now }: ApiKeyServiceDeps) {
  const cache = new Map<string, Authenticated & { expiresAt: number }>();
  // Bumped by every revocation and invalidation: a lookup that read the database before one
  // must not cache what it read, or a revoked key would pass until the entry expired.
  let generation = 0;
  const forget = (keyId?: string) => {
    generation += 1;
    if (keyId === undefined) cache.clear();
    else for (const [hash, entry] of cache) if (entry.keyId === keyId) cache.delete(hash);
  };
  const lastUsedWritten = new Map<string, number>();

  async function insertKey(name: string, principal: string, key: string) {
    const row = await prisma.apiKey.create({
      data: { id: newId(), name, principal, keyHash: hashKey(key).toString('hex'), prefix: key.slice(0, 10) },
    });
    return { id: row.id, name: row.name, principal: row.principal, prefix: row.prefix, createdAt: row.createdAt };
  }

  function touch(keyId: string): void {
    const at = now();
    if ((lastUsedWritten.get(keyId) ?? 0) > at - LAST_USED_RESOLUTION_MS) return;
    lastUsedWritten.set(keyId, at);
    // Best effort: a lost last_used_at update never fails a request.
    prisma.apiKey.update({ where: { id: keyId }, data: { lastUsedAt: new Date(at) } }).catch(() => lastUsedWritten.delete(keyId));
  }

  return {
    /** Creates a key for `principal`; the returned `key` is the only time the secret is ever visible. */
    async createApiKey(body: CreateApiKeyBody) {
      const key = generateKey();
      return { ...(await insertKey(body.name, body.principal, key)), key };
    },

    /** Every key's metadata, newest first; never the secret or its hash. */
    async listApiKeys() {
      return prisma.apiKey.findMany({
        orderBy: { createdAt: 'desc' },
        select: { id: true, name: true, principal: true, prefix: true, createdAt: true, lastUsedAt: true, revokedAt: true },
      });
    },

    /** Revokes a key (idempotent); NOT_FOUND for an unknown id. Takes effect in this process at once. */
    async revokeApiKey(id: string) {
      const row = await prisma.$transaction(async (tx) => {
        const existing = await tx.apiKey.findUnique({ where: { id } });
        if (!existing) throw notFound('api key', id);
        const updated = existing.revokedAt ? existing : await tx.apiKey.update({ where: { id }, data: { revokedAt: new Date(now()) } });
        await tx.$executeRaw`SELECT pg_notify(${AUTH_CHANNEL}, ${id})`;
        return updated;
      });
      forget(id);
      return { id: row.id, name: row.name, principal: row.principal, prefix: row.prefix, revokedAt: row.revokedAt };
    },

    /**
     * The principal of a bearer key, with its plugin's status for a plugin's key; throws
     * UNAUTHENTICATED for a missing, unknown or revoked key.
     */
    async authenticate(bearer: string | undefined): Promise<Authenticated> {
      if (!bearer || bearer.length > 512) throw new AppError('UNAUTHENTICATED', 'a valid API key is required (Authorization: Bearer <key>)');
      const digest = hashKey(bearer);
      const hex = digest.toString('hex');
      const cached = cache.get(hex);
      if (cached && cached.expiresAt > now()) {
        touch(cached.keyId);
        const { expiresAt: _expiresAt, ...authenticated } = cached;
        return authenticated;
      }
      cache.delete(hex);
      const readAt = generation;
      const row = await prisma.apiKey.findUnique({ where: { keyHash: hex } });
      if (!row || row.revokedAt || !timingSafeEqual(Buffer.from(row.keyHash, 'hex'), digest)) {
        throw new AppError('UNAUTHENTICATED', 'the API key is invalid or revoked');
      }
      const pluginId = pluginIdOf(row.principal);
      const plugin = pluginId === undefined ? null : await prisma.plugin.findUnique({ where: { id: pluginId }, select: { status: true } });
      const authenticated: Authenticated = { keyId: row.id, principal: row.principal, ...(plugin ? { pluginStatus: plugin.status } : {}) };
      if (readAt === generation) cache.set(hex, { ...authenticated, expiresAt: now() + cacheTtlMs });
      touch(row.id);
      return authenticated;
    },

    /** Forgets every cached lookup (called when a process announces a key change or a plugin's status changes). */
    invalidate(): void {
      forget();
    },

    /**
     * Makes sure an admin can log in: stores `configuredKey` (hashed) if given and unknown, or
     * else creates a random admin key when no active admin key exists. Returns the new secret
     * only when one was generated; serialised by an advisory lock, so concurrent starts agree.
     */
    async ensureAdminKey(configuredKey: string | undefined): Promise<{ key?: string; created: boolean }> {
      if (configuredKey !== undefined) BootstrapKey.parse(configuredKey);
      return prisma.$transaction(async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(727002)`;
        if (configuredKey !== undefined) {
          const keyHash = hashKey(configuredKey).toString('hex');
          if (await tx.apiKey.findUnique({ where: { keyHash } })) return { created: false };
          await tx.apiKey.create({ data: { id: newId(), name: 'bootstrap admin (OWNPILOT_ADMIN_KEY)', principal: 'admin', keyHash, prefix: configuredKey.slice(0, 4) } });
          return { created: true };
        }
        if (await tx.apiKey.findFirst({ where: { principal: 'admin', revokedAt: null } })) return { created: false };
        const key = generateKey();
        await tx.apiKey.create({ data: { id: newId(), name: 'bootstrap admin', principal: 'admin', keyHash: hashKey(key).toString('hex'), prefix: key.slice(0, 10) } });
        return { key, created: true };
      });
    },
  };
}
export type ApiKeyService = ReturnType<typeof createApiKeyService>;
