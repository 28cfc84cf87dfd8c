import type { Express } from 'express';
import request from 'supertest';
import { createApiKeyService, type ApiKeyService } from '../../activities/auth/api-key-service';
import type { PrismaClient } from '../../platform/database';
import { newId } from '../../platform/ids';

/** Creates a real API key for `principal` through the real service; returns the secret. */
export async function createTestKey(keys: ApiKeyService, principal = 'admin'): Promise<string> {
  return (await keys.createApiKey({ name: `test ${newId(6)}`, principal })).key;
}

/** The key service tests hand to createApp (short cache so revocation tests see the database). */
export function testKeyService(prisma: PrismaClient): ApiKeyService {
  return createApiKeyService({ prisma });
}

/** A supertest agent that sends `Authorization: Bearer <key>` on every request. */
export function authed(app: Express, key: string) {
  return request.agent(app).set('authorization', `Bearer ${key}`);
}
