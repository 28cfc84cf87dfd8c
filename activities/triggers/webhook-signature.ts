import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { AppError } from '../../platform/errors';

export const SIGNATURE_HEADER = 'x-ownpilot-signature';
export const TIMESTAMP_HEADER = 'x-ownpilot-timestamp';
export const DELIVERY_HEADER = 'x-ownpilot-delivery';

/** `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`: what a sender puts in the signature header. */
export function signWebhook(secret: string, timestamp: string, rawBody: Buffer): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');
  return `sha256=${mac}`;
}

/**
 * Checks the timestamp is within `toleranceSeconds` of `nowMs` and the signature matches in
 * constant time; throws UNAUTHENTICATED saying which check failed (never the expected value).
 * Returns the SHA-256 hex of the verified signature: the key a replay is recognised by, stored
 * instead of the signature so a leaked row cannot be sent again.
 */
export function verifyWebhookSignature(input: { secret: string; timestamp: string | undefined; signature: string | undefined; rawBody: Buffer; nowMs: number; toleranceSeconds: number }): string {
  if (!input.timestamp || !/^\d{1,12}$/.test(input.timestamp)) throw new AppError('UNAUTHENTICATED', `missing or malformed ${TIMESTAMP_HEADER} (unix seconds)`);
  if (Math.abs(input.nowMs / 1000 - Number(input.timestamp)) > input.toleranceSeconds) {
    throw new AppError('UNAUTHENTICATED', `${TIMESTAMP_HEADER} is outside the ${input.toleranceSeconds}s tolerance window`);
  }
  if (!input.signature) throw new AppError('UNAUTHENTICATED', `missing ${SIGNATURE_HEADER}`);
  const expected = Buffer.from(signWebhook(input.secret, input.timestamp, input.rawBody));
  const given = Buffer.from(input.signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new AppError('UNAUTHENTICATED', 'signature does not match');
  return createHash('sha256').update(given).digest('hex');
}
