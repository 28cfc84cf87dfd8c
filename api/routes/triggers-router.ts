import { Router } from 'express';
import type { TriggerService } from '../../activities/triggers/trigger-service';
import { BackfillBody, CreateTriggerBody, ExecuteTriggerBody, HistoryQuery, ListTriggersQuery, TriggerIdParams, UpdateTriggerBody } from '../../activities/triggers/trigger-schemas';
import { parse, principalOf } from '../validate';

/** /api/v1/triggers: CRUD, enable/disable, fire now, backfill, history, secret rotation, reconcile. */
export function triggersRouter(triggers: TriggerService): Router {
  const router = Router();
  router.post('/', async (req, res) => {
    res.status(201).json(await triggers.createTrigger(parse(CreateTriggerBody, req.body), principalOf(req)));
  });
  router.get('/', async (req, res) => {
    res.json(await triggers.listTriggers(parse(ListTriggersQuery, req.query)));
  });
  router.post('/reconcile', async (_req, res) => {
    res.json(await triggers.reconcile());
  });
  router.get('/:id', async (req, res) => {
    res.json(await triggers.getTrigger(parse(TriggerIdParams, req.params).id));
  });
  router.patch('/:id', async (req, res) => {
    res.json(await triggers.updateTrigger(parse(TriggerIdParams, req.params).id, parse(UpdateTriggerBody, req.body)));
  });
  router.delete('/:id', async (req, res) => {
    await triggers.deleteTrigger(parse(TriggerIdParams, req.params).id);
    res.status(204).end();
  });
  router.post('/:id/enable', async (req, res) => {
    res.json(await triggers.enableTrigger(parse(TriggerIdParams, req.params).id));
  });
  router.post('/:id/disable', async (req, res) => {
    res.json(await triggers.disableTrigger(parse(TriggerIdParams, req.params).id));
  });
  router.post('/:id/execute', async (req, res) => {
    const { payload } = parse(ExecuteTriggerBody, req.body ?? {});
    res.status(202).json(await triggers.executeTrigger(parse(TriggerIdParams, req.params).id, payload));
  });
  router.post('/:id/backfill', async (req, res) => {
    res.status(202).json(await triggers.backfill(parse(TriggerIdParams, req.params).id, parse(BackfillBody, req.body)));
  });
  router.post('/:id/rotate-secret', async (req, res) => {
    res.json(await triggers.rotateWebhookSecret(parse(TriggerIdParams, req.params).id));
  });
  router.get('/:id/history', async (req, res) => {
    res.json(await triggers.getTriggerHistory(parse(TriggerIdParams, req.params).id, parse(HistoryQuery, req.query)));
  });
  return router;
}
