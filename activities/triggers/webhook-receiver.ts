import type { PrismaClient } from '../../platform/database';
import { AppError, notFound } from '../../platform/errors';
import type { SecretBox } from '../../platform/secret-box';
import type { RateLimiter } from './webhook-rate-limiter';
import type { TriggerRunStarter } from './trigger-run-starter';
import { WebhookConfig } from './trigger-schemas';
import { verifyWebhookSignature } from './webhook-signature';

export interface WebhookReceiverDeps {
  prisma: PrismaClient;
  secrets: SecretBox;
  starter: Pick<TriggerRunStarter, 'start'>;
  rateLimiter: RateLimiter;
  clock?: () => number;
}

export interface WebhookDelivery {
  triggerId: string;
  rawBody: Buffer;
  contentType: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
  deliveryId: string | undefined;
}

const DELIVERY_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The verified body as the action sees it: parsed JSON for JSON content types, else the text. */
function parseBody(raw: Buffer, contentType: string | undefined): unknown {
  const text = raw.toString('utf8');
  if (!contentType || !/json/i.test(contentType)) return text;
  if (text.length === 0) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new AppError('VALIDATION_FAILED', 'body is not valid JSON');
  }
}

/**
 * Accepts one webhook delivery. Order: trigger exists and is a webhook (404), rate limit (429),
 * body size (413), timestamp + HMAC signature (401), enabled (409), then the trigger run
 * `trigger-<id>-wh-<deliveryId>` starts at most once (its workflow id) while the delivery id is
 * recorded beside it: a replay of a started delivery is 409, while a retry of one whose first
 * attempt died before starting (API killed) starts it. If the start fails the recorded id is released.
 */
export function createWebhookReceiver({ prisma, secrets, starter, rateLimiter, clock = Date.now }: WebhookReceiverDeps) {
  const lastPruned = new Map<string, number>();
  /**
   * Forgets a trigger's delivery ids older than twice the tolerance (their signatures can no
   * longer verify, so a replay is refused anyway), at most once per tolerance window and off the
   * request's path: pruning is housekeeping, not part of accepting a delivery.
   */
  const pruneDeliveries = (triggerId: string, now: number, toleranceSeconds: number) => {
    if ((lastPruned.get(triggerId) ?? -Infinity) > now - toleranceSeconds * 1000) return;
    lastPruned.set(triggerId, now);
    prisma.triggerWebhookDelivery
      .deleteMany({ where: { triggerId, receivedAt: { lt: new Date(now - 2 * toleranceSeconds * 1000) } } })
      .catch(() => lastPruned.delete(triggerId));
  };
  return {
    /** Verifies and starts the run; returns its workflow id. Throws AppError with the status to answer. */
    async receive(delivery: WebhookDelivery): Promise<{ runId: string }> {
      const trigger = await prisma.trigger.findUnique({ where: { id: delivery.triggerId }, include: { webhookSecret: true } });
      if (!trigger || trigger.type !== 'webhook' || !trigger.webhookSecret) throw notFound('webhook', delivery.triggerId);
      const config = WebhookConfig.parse(trigger.config);
      if (!rateLimiter.tryTake(trigger.id, config.rateLimitPerMinute)) {
        throw new AppError('RATE_LIMITED', `more than ${config.rateLimitPerMinute} deliveries a minute`, { limitPerMinute: config.rateLimitPerMinute });
      }
      if (delivery.rawBody.length > config.maxBodyBytes) {
        throw new AppError('PAYLOAD_TOO_LARGE', `body exceeds ${config.maxBodyBytes} bytes`, { maxBodyBytes: config.maxBodyBytes });
      }
      const now = clock();
      verifyWebhookSignature({
        secret: secrets.open(trigger.webhookSecret.secretCiphertext, trigger.id),
        timestamp: delivery.timestamp,
        signature: delivery.signature,
        rawBody: delivery.rawBody,
        nowMs: now,
        toleranceSeconds: config.toleranceSeconds,
      });
      if (!trigger.isEnabled) throw new AppError('INVALID_STATE', `trigger '${trigger.id}' is disabled`);
      if (!delivery.deliveryId || !DELIVERY_ID.test(delivery.deliveryId)) {
        throw new AppError('VALIDATION_FAILED', 'missing or malformed delivery id (1-128 of A-Z a-z 0-9 . _ : -)');
      }
      const payload = parseBody(delivery.rawBody, delivery.contentType);

      pruneDeliveries(trigger.id, now, config.toleranceSeconds);
      // The run's workflow id refuses a replay (REJECT_DUPLICATE, and Temporal keeps ids far longer
      // than any tolerance window), so the delivery row is a record written beside the start, not a
      // gate before it. A row already there came from a delivery that started its run (the start
      // says so: 409) or from one whose process died before starting it (the start runs it now).
      const recorded = prisma.triggerWebhookDelivery
        .create({ data: { triggerId: trigger.id, deliveryId: delivery.deliveryId, receivedAt: new Date(now) } })
        // Never rejects (a rejection nobody awaits yet would be unhandled): a failed record (database
        // trouble) does not undo a started run, the 202 stands.
        .then(() => true, () => false);
      try {
        const { runId, started } = await starter.start(`wh-${delivery.deliveryId}`, { triggerId: trigger.id, source: 'webhook', payload });
        await recorded;
        if (!started) throw new AppError('CONFLICT', `delivery '${delivery.deliveryId}' was already received`, { deliveryId: delivery.deliveryId });
        return { runId };
      } catch (error) {
        // Nothing started: forget the id this request recorded, so a retry is not refused.
        if (!(error instanceof AppError) && (await recorded)) {
          await prisma.triggerWebhookDelivery.delete({ where: { triggerId_deliveryId: { triggerId: trigger.id, deliveryId: delivery.deliveryId } } }).catch(() => undefined);
        }
        throw error;
      }
    },
  };
}
export type WebhookReceiver = ReturnType<typeof createWebhookReceiver>;
