import { Router } from 'express';
import { ApiKeyIdParams, CreateApiKeyBody } from '../../activities/auth/api-key-schemas';
import type { ApiKeyService } from '../../activities/auth/api-key-service';
import { requireAdmin } from '../auth-middleware';
import { parse } from '../validate';

/** /api/v1/keys (admin only): create (the secret is in this one response), list, revoke. */
export function keysRouter(keys: ApiKeyService): Router {
  const router = Router();
  router.use(requireAdmin);
  router.post('/', async (req, res) => {
    res.status(201).json(await keys.createApiKey(parse(CreateApiKeyBody, req.body)));
  });
  router.get('/', async (_req, res) => {
    res.json({ keys: await keys.listApiKeys() });
  });
  router.delete('/:id', async (req, res) => {
    res.json(await keys.revokeApiKey(parse(ApiKeyIdParams, req.params).id));
  });
  return router;
}
