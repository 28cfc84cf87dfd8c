import type { PrismaClient } from '../../platform/database';
import { isUniqueViolation } from '../../platform/database-errors';
import { AppError, notFound } from '../../platform/errors';
import type { SecretBox } from '../../platform/secret-box';
import type { RateLimiter } from './webhook-rate-limiter';
import type { TriggerRunStarter } from './trigger-run-starter';
import { MAX_WEBHOOK_TOLERANCE_SECONDS, WebhookConfig } from './trigger-schemas';
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
 * body size (413), timestamp + HMAC signature (401), enabled (409), then the signature is claimed
 * for the delivery id and the trigger run `trigger-<id>-wh-<deliveryId>` starts at most once (its
 * workflow id). The delivery id is not signed, so a signature already claimed by another delivery
 * id is a replay (409) and starts nothing. A retry of the same delivery id, with the same or a
 * fresh signature, is 409 once its run started and starts it if it had not (its first attempt
 * died or failed before the start). If the start fails the claim this request wrote is released.
 */
export function createWebhookReceiver({ prisma, secrets, starter, rateLimiter, clock = Date.now }: WebhookReceiverDeps) {
  const lastPruned = new Map<string, number>();
  /**
   * Forgets a trigger's signatures older than twice the longest tolerance (they can no longer
   * verify, even if the trigger's tolerance is raised later), at most once per tolerance window and
   * off the request's path: pruning is housekeeping, not part of accepting a delivery.
   */
  const pruneDeliveries = (triggerId: string, now: number, toleranceSeconds: number) => {
    if ((lastPruned.get(triggerId) ?? -Infinity) > now - toleranceSeconds * 1000) return;
    lastPruned.set(triggerId, now);
    prisma.triggerWebhookDelivery
      .deleteMany({ where: { triggerId, receivedAt: { lt: new Date(now - 2 * MAX_WEBHOOK_TOLERANCE_SECONDS * 1000) } } })
      .catch(() => lastPruned.delete(triggerId));
  };
  /**
   * Claims the signature for the delivery id; the primary key (trigger, signature digest) lets one
   * delivery id hold it, also when copies race. True when this call wrote the claim, false when the
   * same delivery id already holds it (a retry: the run's workflow id decides). Throws CONFLICT when
   * another delivery id holds it.
   */
  const claimSignature = async (claim: { triggerId: string; signatureDigest: string; deliveryId: string; receivedAt: Date }): Promise<boolean> => {
    try {
      await prisma.triggerWebhookDelivery.create({ data: claim });
      return true;
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
    const holder = await prisma.triggerWebhookDelivery.findUnique({ where: { triggerId_signatureDigest: { triggerId: claim.triggerId, signatureDigest: claim.signatureDigest } } });
    // Gone since the insert failed: its request's start failed and released it, so claim it anew.
    if (!holder) return claimSignature(claim);
    if (holder.deliveryId === claim.deliveryId) return false;
    throw new AppError('CONFLICT', `delivery '${claim.deliveryId}' repeats a signature already received with another delivery id`, { deliveryId: claim.deliveryId });
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
      const signatureDigest = verifyWebhookSignature({
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
      // The claim is written before the start: it is the gate for other delivery ids, while the
      // run's workflow id (REJECT_DUPLICATE) is the gate for this one. A claim left by a process
      // that died before starting is completed by the sender's retry with the same delivery id.
      const claim = { triggerId: trigger.id, signatureDigest, deliveryId: delivery.deliveryId, receivedAt: new Date(now) };
      const claimed = await claimSignature(claim);
      try {
        const { runId, started } = await starter.start(`wh-${delivery.deliveryId}`, { triggerId: trigger.id, source: 'webhook', payload });
        if (!started) throw new AppError('CONFLICT', `delivery '${delivery.deliveryId}' was already received`, { deliveryId: delivery.deliveryId });
        return { runId };
      } catch (error) {
        // Nothing started: release the claim this request wrote, so a copy of it is not refused.
        // A refused start (409) keeps it: that signature verified and must not start a run later.
        if (claimed && !(error instanceof AppError)) {
          await prisma.triggerWebhookDelivery.delete({ where: { triggerId_signatureDigest: { triggerId: claim.triggerId, signatureDigest } } }).catch(() => undefined);
        }
        throw error;
      }
    },
  };
}
export type WebhookReceiver = ReturnType<typeof createWebhookReceiver>;
