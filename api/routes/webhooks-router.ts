import express, { Router } from 'express';
import { TriggerIdParams } from '../../activities/triggers/trigger-schemas';
import type { WebhookReceiver } from '../../activities/triggers/webhook-receiver';
import { DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../activities/triggers/webhook-signature';
import { parse } from '../validate';

/** Hard ceiling on any webhook body; each trigger's own (smaller) limit is checked after lookup. */
export const WEBHOOK_BODY_CEILING = '1mb';

/**
 * /api/v1/webhooks/:triggerId — authenticated by HMAC signature, NOT by API key: mount it
 * before the JSON parser and the auth middleware. Reads the raw body (any content type).
 */
export function webhooksRouter(receiver: WebhookReceiver): Router {
  const router = Router();
  router.post('/:id', express.raw({ type: () => true, limit: WEBHOOK_BODY_CEILING }), async (req, res) => {
    const { id } = parse(TriggerIdParams, req.params);
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const { runId } = await receiver.receive({
      triggerId: id,
      rawBody,
      contentType: req.header('content-type'),
      timestamp: req.header(TIMESTAMP_HEADER),
      signature: req.header(SIGNATURE_HEADER),
      deliveryId: req.header(DELIVERY_HEADER),
    });
    res.status(202).json({ runId });
  });
  return router;
}
