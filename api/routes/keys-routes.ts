import { z } from 'zod';
import { ApiKeyIdParams, CreateApiKeyBody } from '../../activities/auth/api-key-schemas';
import { Timestamp, type RouteGroup } from '../openapi/route-spec';

const ApiKey = z.object({
  id: z.string(), name: z.string(), principal: z.string(), prefix: z.string(),
  createdAt: Timestamp, lastUsedAt: Timestamp.nullable(), revokedAt: Timestamp.nullable(),
});
const CreatedApiKey = ApiKey.partial({ lastUsedAt: true, revokedAt: true }).extend({ key: z.string().describe('The secret: returned only in this response') });

/** OpenAPI description of keys-router.ts. */
export const keysRoutes: RouteGroup = {
  prefix: '/api/v1/keys',
  tag: 'keys',
  description: 'API keys (admin only): create, list, revoke',
  routes: [
    { method: 'post', path: '/', summary: 'Create an API key (the secret is shown once)', auth: 'admin', body: CreateApiKeyBody, responses: { 201: { description: 'Created', schema: CreatedApiKey } } },
    { method: 'get', path: '/', summary: 'List API keys (never their secrets)', auth: 'admin', responses: { 200: { description: 'Keys, newest first', schema: z.object({ keys: z.array(ApiKey) }) } } },
    {
      method: 'delete', path: '/:id', summary: 'Revoke an API key (every process stops accepting it)', auth: 'admin', params: ApiKeyIdParams, errors: [404],
      responses: { 200: { description: 'Revoked', schema: ApiKey.pick({ id: true, name: true, principal: true, prefix: true, revokedAt: true }) } },
    },
  ],
};
