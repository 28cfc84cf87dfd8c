import type { Logger } from '../../platform/logger';
import type { OwnPilotEvent } from './event-types';
import { createTokenBucket, type TokenBucket } from './token-bucket';

/** What happens to a delivery beyond a subscriber's rate: dropped, or held until a token frees up. */
export type RateLimitPolicy = 'drop' | 'defer';

export interface SubscriberLimits {
  /** Events per second this subscriber may receive (token bucket); undefined = unlimited. */
  ratePerSecond?: number;
  /** Bucket size (default: one second's worth, at least 1). */
  burst?: number;
  policy: RateLimitPolicy;
  /** Deliveries waiting beyond this many are dropped and counted as overflow. */
  maxQueue: number;
  /** A handler still running after this long is abandoned (counted as timed out); the queue moves on. */
  handlerTimeoutMs: number;
  /** Told when a delivery is dropped because the queue is full: for a subscriber that must not lose events unawares. */
  onOverflow?: () => void;
}

export type EventHandler = (event: OwnPilotEvent) => unknown;

interface Delivery {
  event: OwnPilotEvent;
  subscriptionId: string;
  handler: EventHandler;
  done?: () => void;
}

const TIMED_OUT = Symbol('timed out');

/**
 * One subscriber's FIFO of deliveries, drained one handler at a time on later turns of the event
 * loop: a throwing, hanging or slow handler only ever delays this subscriber's own queue.
 */
export function createSubscriberQueue(subscriberId: string, initial: SubscriberLimits, logger: Logger) {
  let limits = initial;
  let bucket: TokenBucket | undefined;
  const resetBucket = () => {
    bucket = limits.ratePerSecond === undefined ? undefined : createTokenBucket(limits.ratePerSecond, limits.burst ?? Math.max(1, limits.ratePerSecond));
  };
  resetBucket();

  let items: Delivery[] = [];
  let head = 0;
  let draining = false;
  let scheduled = false;
  let deferTimer: NodeJS.Timeout | undefined;
  const metrics = { delivered: 0, failed: 0, timedOut: 0, rateDropped: 0, deferred: 0, overflowed: 0 };

  const invoke = async (d: Delivery): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = d.handler(d.event);
      if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
        const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
          timer = setTimeout(() => resolve(TIMED_OUT), limits.handlerTimeoutMs);
        });
        if ((await Promise.race([result, timeout])) === TIMED_OUT) {
          metrics.timedOut++;
          logger.warn({ subscriberId, subscriptionId: d.subscriptionId, eventId: d.event.id, type: d.event.type, timeoutMs: limits.handlerTimeoutMs }, 'event handler timed out');
          return;
        }
      }
      metrics.delivered++;
    } catch (error) {
      metrics.failed++;
      logger.warn({ err: error, subscriberId, subscriptionId: d.subscriptionId, eventId: d.event.id, type: d.event.type }, 'event handler failed');
    } finally {
      if (timer) clearTimeout(timer);
      d.done?.();
    }
  };

  const drain = async (): Promise<void> => {
    scheduled = false;
    if (draining) return;
    draining = true;
    try {
      while (head < items.length) {
        if (bucket && limits.policy === 'defer' && !bucket.tryTake()) {
          deferTimer = setTimeout(() => {
            deferTimer = undefined;
            void drain();
          }, bucket.msUntilToken());
          return;
        }
        const d = items[head]!;
        items[head++] = undefined as unknown as Delivery;
        if (head > 1024 && head * 2 > items.length) {
          items = items.slice(head);
          head = 0;
        }
        await invoke(d);
      }
    } finally {
      draining = false;
    }
  };

  return {
    /** Queues one delivery without running it; applies the drop policy and the queue bound now. */
    push(delivery: Delivery): void {
      if (bucket && limits.policy === 'drop' && !bucket.tryTake()) {
        metrics.rateDropped++;
        delivery.done?.();
        return;
      }
      if (items.length - head >= limits.maxQueue) {
        metrics.overflowed++;
        limits.onOverflow?.();
        delivery.done?.();
        return;
      }
      if (bucket && limits.policy === 'defer' && (items.length - head > 0 || bucket.msUntilToken() > 0)) metrics.deferred++;
      items.push(delivery);
      if (!scheduled && !draining && !deferTimer) {
        scheduled = true;
        setImmediate(() => void drain());
      }
    },

    /** Replaces the limits (a new rate starts with a full bucket). */
    configure(next: SubscriberLimits): void {
      limits = next;
      resetBucket();
    },

    limits: () => limits,

    /** Counters plus the current backlog. */
    metrics: () => ({ ...metrics, queued: items.length - head }),

    /** Drops every waiting delivery (counted as nothing: the subscriber went away). */
    clear(): void {
      for (let i = head; i < items.length; i++) items[i]?.done?.();
      items = [];
      head = 0;
      if (deferTimer) clearTimeout(deferTimer);
      deferTimer = undefined;
    },
  };
}
export type SubscriberQueue = ReturnType<typeof createSubscriberQueue>;
