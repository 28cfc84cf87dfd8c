import { Router, type Request } from 'express';
import type { TriggerService } from '../../activities/triggers/trigger-service';
import { BackfillBody, CreateTriggerBody, ExecuteTriggerBody, HistoryQuery, ListTriggersQuery, TriggerIdParams, UpdateTriggerBody } from '../../activities/triggers/trigger-schemas';
import { requireAdmin } from '../auth-middleware';
import { parse, principalOf } from '../validate';

/** /api/v1/triggers: CRUD, enable/disable, fire now, backfill, history, secret rotation, reconcile. A trigger is its creator's (and admin's). */
export function triggersRouter(triggers: TriggerService): Router {
  const router = Router();
  /** Parses the trigger id and checks the caller may use that trigger. */
  const owned = async (req: Request) => {
    const { id } = parse(TriggerIdParams, req.params);
    await triggers.assertMayUseTrigger(id, principalOf(req));
    return id;
  };
  router.post('/', async (req, res) => {
    const body = parse(CreateTriggerBody, req.body);
    await triggers.assertMayUseAction(body.action, principalOf(req));
    res.status(201).json(await triggers.createTrigger(body, principalOf(req)));
  });
  router.get('/', async (req, res) => {
    res.json(await triggers.listTriggers(parse(ListTriggersQuery, req.query), triggers.visibleTo(principalOf(req))));
  });
  router.post('/reconcile', requireAdmin, async (_req, res) => {
    res.json(await triggers.reconcile());
  });
  router.get('/:id', async (req, res) => {
    res.json(await triggers.getTrigger(await owned(req)));
  });
  router.patch('/:id', async (req, res) => {
    const id = await owned(req);
    const body = parse(UpdateTriggerBody, req.body);
    await triggers.assertMayUseAction(body.action, principalOf(req));
    res.json(await triggers.updateTrigger(id, body));
  });
  router.delete('/:id', async (req, res) => {
    await triggers.deleteTrigger(await owned(req));
    res.status(204).end();
  });
  router.post('/:id/enable', async (req, res) => {
    res.json(await triggers.enableTrigger(await owned(req)));
  });
  router.post('/:id/disable', async (req, res) => {
    res.json(await triggers.disableTrigger(await owned(req)));
  });
  router.post('/:id/execute', async (req, res) => {
    const { payload } = parse(ExecuteTriggerBody, req.body ?? {});
    res.status(202).json(await triggers.executeTrigger(await owned(req), payload));
  });
  router.post('/:id/backfill', async (req, res) => {
    const body = parse(BackfillBody, req.body);
    res.status(202).json(await triggers.backfill(await owned(req), body));
  });
  router.post('/:id/rotate-secret', async (req, res) => {
    res.json(await triggers.rotateWebhookSecret(await owned(req)));
  });
  router.get('/:id/history', async (req, res) => {
    const query = parse(HistoryQuery, req.query);
    res.json(await triggers.getTriggerHistory(await owned(req), query));
  });
  return router;
}
