import { randomUUID } from 'node:crypto';
import { AppError } from '../../platform/errors';
import { createUuidV7 } from '../../platform/uuid-v7';
import type { Logger } from '../../platform/logger';
import { EventHistoryQuery } from './event-history-schemas';
import { compilePattern, EventPattern } from './event-pattern';
import { JsonData, KNOWN_EVENT_PAYLOADS } from './event-payloads';
import { currentCause, withoutCause } from './event-cause';
import { EventAudience, EventCategory, EventType, type EmitOptions, type OwnPilotEvent } from './event-types';
import type { PgEventStore } from './pg-event-store';
import { createSubscriberQueue, type EventHandler, type SubscriberLimits, type SubscriberQueue } from './subscriber-queue';

export interface EventBusOptions {
  logger: Logger;
  /** event_log + cross-process channel; without it the bus is in-process only and keeps no history. */
  store?: Pick<PgEventStore, 'append' | 'listen' | 'query' | 'flush' | 'stats' | 'close'>;
  /** Limits for subscribers that set none. */
  defaultLimits?: Partial<SubscriberLimits>;
  /** How many recent event ids are remembered to drop duplicates (own events echoed back, retried emits). */
  dedupeWindow?: number;
  /** Sees every event this process emits (once, after validation): the metrics exporter counts them here. */
  observe?: (event: OwnPilotEvent) => void;
}

/** What `emitAsync` waits for: local handlers too (`handled`), or only the commit to event_log (`committed`). */
export type EmitUntil = 'handled' | 'committed';
export interface EmitAsyncOptions extends EmitOptions {
  /** A stable id (e.g. `<runId>/<purpose>`): emitting the same id again is a no-op. */
  id?: string;
  until?: EmitUntil;
}

/** What a subscriber may set on its own deliveries. */
export type SubscribeOptions = Partial<SubscriberLimits>;

/** A subscription as listed (the handler itself stays private). */
export interface EventSubscription {
  id: string;
  subscriberId: string;
  pattern: string;
  createdAt: string;
}

interface Subscription extends EventSubscription {
  matches(type: string): boolean;
  handler: EventHandler;
}

const DEFAULT_LIMITS: SubscriberLimits = { policy: 'defer', maxQueue: 10_000, handlerTimeoutMs: 5_000 };

/**
 * The event bus (seed §3): namespaced, payload-validated events; `*`/`**` subscriptions; per-
 * subscriber queues, timeouts and token-bucket limits; every event batched into event_log and
 * sent to every other process on the database. Delivery is at-most-once (see README).
 */
export function createEventBus(options: EventBusOptions) {
  const { logger, store } = options;
  const instanceId = randomUUID();
  // Time-ordered ids: the history orders by (timestamp, id), so events of one millisecond keep their emit order.
  const nextEventId = createUuidV7();
  const baseLimits: SubscriberLimits = { ...DEFAULT_LIMITS, ...options.defaultLimits };
  const subscriptions = new Map<string, Subscription>();
  const subscribers = new Map<string, SubscriberQueue>();
  const matchCache = new Map<string, Subscription[]>();
  const dedupeWindow = options.dedupeWindow ?? 50_000;
  const seen = new Set<string>();
  const counters = { emitted: 0, received: 0, ownEchoes: 0, duplicatesIgnored: 0, rejected: 0 };
  const reconnectListeners = new Set<() => void>();

  const remember = (id: string): boolean => {
    if (seen.has(id)) return false;
    seen.add(id);
    if (seen.size > dedupeWindow) seen.delete(seen.values().next().value as string);
    return true;
  };

  const matching = (type: string): Subscription[] => {
    let subs = matchCache.get(type);
    if (!subs) {
      subs = [...subscriptions.values()].filter((s) => s.matches(type));
      if (matchCache.size > 10_000) matchCache.clear();
      matchCache.set(type, subs);
    }
    return subs;
  };

  /** Hands the event to every matching subscriber's queue; `done` runs when all have settled. */
  const deliver = (event: OwnPilotEvent, done?: () => void): void => {
    const subs = matching(event.type);
    let pending = subs.length + 1;
    const settle = done && (() => --pending === 0 && done());
    for (const sub of subs) {
      subscribers.get(sub.subscriberId)!.push({
        event,
        subscriptionId: sub.id,
        // a subscription removed while the delivery waited receives nothing
        handler: (e) => (subscriptions.has(sub.id) ? sub.handler(e) : undefined),
        done: settle,
      });
    }
    settle?.();
  };

  const build = (type: string, data: unknown, source: string, id?: string, audience?: readonly string[]): OwnPilotEvent => {
    const typeCheck = EventType.safeParse(type);
    if (!typeCheck.success) {
      counters.rejected++;
      throw new AppError('VALIDATION_FAILED', `invalid event type '${type}'`, { issues: typeCheck.error.issues });
    }
    const known = KNOWN_EVENT_PAYLOADS[type];
    const payload = known ? known.pipe(JsonData).safeParse(data) : JsonData.safeParse(data);
    if (!payload.success) {
      counters.rejected++;
      throw new AppError('VALIDATION_FAILED', `invalid payload for event '${type}'`, { issues: payload.error.issues });
    }
    if (typeof source !== 'string' || source.length === 0) throw new AppError('VALIDATION_FAILED', 'event source is required');
    const readers = audience === undefined ? undefined : EventAudience.safeParse(audience);
    if (readers && !readers.success) throw new AppError('VALIDATION_FAILED', `invalid audience for event '${type}'`, { issues: readers.error.issues });
    const cause = currentCause();
    return {
      id: id ?? nextEventId(),
      type,
      category: EventCategory.parse(type.slice(0, type.indexOf('.'))),
      source,
      data: payload.data,
      timestamp: new Date().toISOString(),
      ...(cause ? { cause } : {}),
      ...(readers ? { audience: readers.data } : {}),
    };
  };

  /** Ids of events whose write to event_log failed: emitting one again (a retry with its id) writes it without delivering it again. */
  const unwritten = new Set<string>();
  const notCommitted = (event: OwnPilotEvent) =>
    new AppError('UNAVAILABLE', `event '${event.type}' could not be written to event_log; emitting it again with the same id retries the write`, { eventId: event.id });
  /** Runs once the event is settled: with an error when it was not committed. */
  type Settle = (error?: AppError) => void;

  // Deliveries and batched writes run outside the emitter's cause: a handler's own events are not the tool call's.
  const publish = (event: OwnPilotEvent, done?: Settle, until: EmitUntil = 'handled'): void => withoutCause(() => publishNow(event, done, until));
  const publishNow = (event: OwnPilotEvent, done?: Settle, until: EmitUntil = 'handled'): void => {
    const rewrite = unwritten.delete(event.id);
    if (!rewrite) {
      if (!remember(event.id)) {
        counters.duplicatesIgnored++;
        done?.();
        return;
      }
      counters.emitted++;
      options.observe?.(event);
    }
    if (!store) {
      deliver(event, until === 'handled' ? () => done?.() : undefined);
      if (until === 'committed') done?.(); // nothing to commit to
      return;
    }
    let failure: AppError | undefined;
    let pending = until === 'handled' && !rewrite ? 2 : 1;
    const settle = () => --pending === 0 && done?.(failure);
    if (!rewrite) deliver(event, until === 'handled' && done ? settle : undefined);
    store.append(event, instanceId, (written) => {
      if (!written) {
        failure = notCommitted(event);
        unwritten.add(event.id);
        if (unwritten.size > dedupeWindow) unwritten.delete(unwritten.values().next().value as string);
      }
      settle();
    });
  };

  const bus = {
    instanceId,

    /**
     * Publishes without waiting: local subscribers run on later turns, the log write and the
     * cross-process send are batched. `audience` limits who besides admin may read it. Throws VALIDATION_FAILED for an unknown namespace or a
     * bad payload, never because of a subscriber. Returns the event as built.
     */
    emit(type: string, data: unknown, source: string, options: EmitOptions = {}): OwnPilotEvent {
      const event = build(type, data, source, undefined, options.audience);
      publish(event);
      return event;
    },

    /**
     * Like `emit`, but resolves once the event is committed to event_log (hence sent to the
     * other processes) and, with `until: 'handled'` (the default), every local subscriber has
     * handled, timed out on or dropped it. `id` makes a retried emit a no-op. Rejects with
     * UNAVAILABLE when the write failed (local subscribers have it; other processes do not):
     * emitting the same id again retries the write without delivering the event locally again.
     */
    emitAsync(type: string, data: unknown, source: string, options: EmitAsyncOptions = {}): Promise<OwnPilotEvent> {
      const event = build(type, data, source, options.id, options.audience);
      return new Promise((resolve, reject) => publish(event, (error) => (error ? reject(error) : resolve(event)), options.until));
    },

    /** Subscribes `handler` to a `*`/`**` pattern; returns the subscription id. Throws VALIDATION_FAILED for a bad pattern. */
    subscribe(subscriberId: string, pattern: string, handler: EventHandler, limits?: SubscribeOptions): string {
      const parsed = EventPattern.safeParse(pattern);
      if (!parsed.success) throw new AppError('VALIDATION_FAILED', `invalid event pattern '${pattern}'`, { issues: parsed.error.issues });
      if (!subscriberId) throw new AppError('VALIDATION_FAILED', 'subscriberId is required');
      const queue = subscribers.get(subscriberId);
      if (!queue) subscribers.set(subscriberId, createSubscriberQueue(subscriberId, { ...baseLimits, ...limits }, logger));
      else if (limits) queue.configure({ ...queue.limits(), ...limits });
      const id = randomUUID();
      subscriptions.set(id, { id, subscriberId, pattern, createdAt: new Date().toISOString(), matches: compilePattern(pattern), handler });
      matchCache.clear();
      return id;
    },

    /** Removes one subscription; queued deliveries for it are skipped. Returns whether it existed. */
    unsubscribe(subscriptionId: string): boolean {
      const existed = subscriptions.delete(subscriptionId);
      if (existed) matchCache.clear();
      return existed;
    },

    /** Every subscription, or those of one subscriber. */
    listSubscriptions(subscriberId?: string): EventSubscription[] {
      return [...subscriptions.values()]
        .filter((s) => subscriberId === undefined || s.subscriberId === subscriberId)
        .map(({ id, subscriberId: sid, pattern, createdAt }) => ({ id, subscriberId: sid, pattern, createdAt }));
    },

    /** Removes every subscription of a subscriber and its waiting deliveries; returns how many were removed. */
    clearSubscriptions(subscriberId: string): number {
      let removed = 0;
      for (const [id, s] of subscriptions) {
        if (s.subscriberId === subscriberId) {
          subscriptions.delete(id);
          removed++;
        }
      }
      subscribers.get(subscriberId)?.clear();
      subscribers.delete(subscriberId);
      matchCache.clear();
      return removed;
    },

    /** Sets a subscriber's rate limit, policy, queue bound or handler timeout. */
    configureSubscriber(subscriberId: string, limits: SubscribeOptions): void {
      const queue = subscribers.get(subscriberId);
      if (queue) queue.configure({ ...queue.limits(), ...limits });
      else subscribers.set(subscriberId, createSubscriberQueue(subscriberId, { ...baseLimits, ...limits }, logger));
    },

    /**
     * A page of event_log (newest first); with `reader`, only the events that principal may read.
     * Throws VALIDATION_FAILED for bad filters, UNAVAILABLE without a store.
     */
    async getEventHistory(filters: EventHistoryQuery = {}, reader?: string): Promise<OwnPilotEvent[]> {
      if (!store) throw new AppError('UNAVAILABLE', 'this event bus keeps no history');
      return store.query(EventHistoryQuery.parse(filters), reader);
    },

    /** Bus counters, event_log writer and channel stats, and per-subscriber delivery counters. */
    metrics() {
      return {
        instanceId,
        ...counters,
        subscriptions: subscriptions.size,
        store: store?.stats(),
        subscribers: Object.fromEntries([...subscribers].map(([id, q]) => [id, { ...q.metrics(), ratePerSecond: q.limits().ratePerSecond ?? null, policy: q.limits().policy }])),
      };
    },

    /**
     * Calls `listener` each time the cross-process channel is back after a lost connection
     * (events committed meanwhile were missed); returns the function that stops calling it.
     */
    onReconnect(listener: () => void): () => void {
      reconnectListeners.add(listener);
      return () => reconnectListeners.delete(listener);
    },

    /** Starts receiving events other processes emit (their own echo is ignored). */
    async start(): Promise<void> {
      const reconnected = () => {
        for (const listener of reconnectListeners) {
          try {
            listener();
          } catch (error) {
            logger.error({ err: error }, 'a reconnect listener failed');
          }
        }
      };
      await store?.listen((event, origin) => {
        if (origin === instanceId) {
          counters.ownEchoes++; // already delivered locally when emitted
          return;
        }
        if (!remember(event.id)) {
          counters.duplicatesIgnored++;
          return;
        }
        counters.received++;
        deliver(event);
      }, reconnected);
    },

    /** Writes every buffered event to event_log. */
    flush: async (): Promise<void> => store?.flush(),

    /** Flushes, stops listening and drops all subscriptions. */
    async close(): Promise<void> {
      await store?.close();
      for (const id of [...subscribers.keys()]) bus.clearSubscriptions(id);
    },

    /**
     * The view of the bus a plugin gets: it may emit only `plugin.<id>.*` (source `plugin:<id>`)
     * and only when its manifest grants `events.emit` (`grants.emit`), and subscribe only to
     * patterns its manifest declares; anything else is FORBIDDEN.
     */
    forPlugin(pluginId: string, declaredPatterns: readonly string[], grants: { emit?: boolean } = {}) {
      const prefix = `plugin.${pluginId}.`;
      const subscriberId = `plugin:${pluginId}`;
      const allowed = new Set(declaredPatterns);
      return {
        emit(type: string, data: unknown): OwnPilotEvent {
          if (!type.startsWith(prefix)) throw new AppError('FORBIDDEN', `plugin '${pluginId}' may only emit ${prefix}*`, { type });
          if (grants.emit !== true) throw new AppError('FORBIDDEN', `plugin '${pluginId}' was not granted 'events.emit'`, { type });
          return bus.emit(type, data, subscriberId);
        },
        subscribe(pattern: string, handler: EventHandler, limits?: SubscribeOptions): string {
          if (!allowed.has(pattern)) throw new AppError('FORBIDDEN', `plugin '${pluginId}' did not declare a subscription to '${pattern}'`, { pattern });
          return bus.subscribe(subscriberId, pattern, handler, limits);
        },
        listSubscriptions: () => bus.listSubscriptions(subscriberId),
        clearSubscriptions: () => bus.clearSubscriptions(subscriberId),
      };
    },
  };
  return bus;
}
export type EventBus = ReturnType<typeof createEventBus>;
