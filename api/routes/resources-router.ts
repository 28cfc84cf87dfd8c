import { Router } from 'express';
import { z } from 'zod';
import { ListResourcesQuery, ResourceId, ResourceTypeSchema } from '../../activities/resources/resource-definitions';
import type { ResourceService } from '../../activities/resources/resource-service';
import { IdempotencyKeyHeader } from '../../activities/tools/tool-api-schemas';
import { parse, principalOf } from '../validate';

const TypeParams = z.object({ resource: ResourceTypeSchema });
const RowParams = TypeParams.extend({ id: ResourceId });

/** /api/v1/resources/:resource: CRUD over the caller's tasks, notes, bookmarks, contacts, calendar_events, memories, goals. */
export function resourcesRouter(resources: ResourceService): Router {
  const router = Router();
  router.post('/:resource', async (req, res) => {
    const { resource } = parse(TypeParams, req.params);
    const key = parse(IdempotencyKeyHeader, req.header('idempotency-key'));
    res.status(201).json(await resources.create(resource, principalOf(req), req.body, key));
  });
  router.get('/:resource', async (req, res) => {
    const { resource } = parse(TypeParams, req.params);
    res.json({ items: await resources.list(resource, principalOf(req), parse(ListResourcesQuery, req.query)) });
  });
  router.get('/:resource/:id', async (req, res) => {
    const { resource, id } = parse(RowParams, req.params);
    res.json(await resources.get(resource, principalOf(req), id));
  });
  router.patch('/:resource/:id', async (req, res) => {
    const { resource, id } = parse(RowParams, req.params);
    res.json(await resources.update(resource, principalOf(req), id, req.body));
  });
  router.delete('/:resource/:id', async (req, res) => {
    const { resource, id } = parse(RowParams, req.params);
    res.json(await resources.delete(resource, principalOf(req), id));
  });
  return router;
}
