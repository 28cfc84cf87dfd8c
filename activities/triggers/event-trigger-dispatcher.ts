import type { PrismaClient } from '../../platform/database';
import type { Logger } from '../../platform/logger';
import type { EventHistoryQuery } from '../events/event-history-schemas';
import type { OwnPilotEvent } from '../events/event-types';
import { compilePattern } from '../events/event-pattern';
import { mayReadEvent } from '../events/event-visibility';
import { matchesFilter } from './payload-filter';
import { createCausationResolver } from './trigger-causation';
import type { TriggerRunStarter } from './trigger-run-starter';
import { EventConfig } from './trigger-schemas';

/** The slice of the event bus the dispatcher needs. */
export interface EventSubscriber {
  subscribe(subscriberId: string, pattern: string, handler: (event: OwnPilotEvent) => unknown): string;
  unsubscribe(subscriptionId: string): unknown;
  getEventHistory(filters: EventHistoryQuery): Promise<OwnPilotEvent[]>;
}

/** event_log rows read per page when catching up. */
const CATCH_UP_PAGE = 500;

/** The subscriber id the dispatcher uses on the bus. */
export const EVENT_TRIGGER_SUBSCRIBER = 'trigger-service';

export interface EventTriggerDispatcherDeps {
  prisma: PrismaClient;
  starter: Pick<TriggerRunStarter, 'start'>;
  logger: Pick<Logger, 'warn'>;
  /** Events held while a batch is dispatched; beyond this they are dropped and logged (default 100,000). */
  maxPending?: number;
  /**
   * How far back `attach` reads event_log for events committed while no process dispatched them
   * (an API restart; config TRIGGER_EVENT_CATCH_UP_MS), default 0 = none. It must stay far below Temporal's retention:
   * the run id of a firing already started is what makes a replayed event start nothing twice.
   */
  catchUpMs?: number;
}

type TriggerRow = Awaited<ReturnType<PrismaClient['trigger']['findMany']>>[number];

/**
 * Starts a trigger run for every enabled event trigger whose pattern and filter match an event
 * its creator may read (`mayReadEvent`: the run carries the event, so it must not show them more).
 * The run id is `trigger-<triggerId>-ev-<eventId>` and starts at most once, so every process
 * that receives the same event may dispatch it: exactly one firing results. A trigger never
 * fires on its own trigger.* events (no self-loops), and every run carries the event's causal
 * chain of trigger firings, so a longer cycle (A → B → A) is recorded as skipped (see
 * trigger-causation.ts) instead of looping.
 */
export function createEventTriggerDispatcher({ prisma, starter, logger, maxPending = 100_000, catchUpMs = 0 }: EventTriggerDispatcherDeps) {
  const causes = createCausationResolver({ prisma });

  /** Starts the runs `event` asks for; a `replayed` event (caught up from event_log) fires only triggers last changed before it. */
  async function dispatchTo(triggers: TriggerRow[], event: OwnPilotEvent, replayed = false): Promise<string[]> {
    const started: string[] = [];
    let chain: string[] | undefined; // looked up once, and only when some trigger matches
    for (const trigger of triggers) {
      // a trigger created or enabled after the event was not watching when it happened
      if (replayed && Date.parse(event.timestamp) < trigger.updatedAt.getTime()) continue;
      const parsed = EventConfig.safeParse(trigger.config);
      if (!parsed.success || !compilePattern(parsed.data.pattern)(event.type)) continue;
      if (event.category === 'trigger' && (event.data as { triggerId?: unknown } | null)?.triggerId === trigger.id) continue;
      if (parsed.data.filter && !matchesFilter(parsed.data.filter, event)) continue;
      // The run gets the whole event as its payload: only events its creator may read (none without a creator).
      if (!mayReadEvent(trigger.createdBy ?? '', event)) continue;
      chain ??= await causes.chainOf(event);
      const { runId } = await starter.start(`ev-${event.id}`, { triggerId: trigger.id, source: 'event', payload: event, chain });
      started.push(runId);
    }
    return started;
  }

  const enabledEventTriggers = () => prisma.trigger.findMany({ where: { type: 'event', isEnabled: true } });

  return {
    /** Matches one event against every event trigger and starts the runs; returns their ids. */
    async dispatch(event: OwnPilotEvent): Promise<string[]> {
      return dispatchTo(await enabledEventTriggers(), event);
    },

    /**
     * Subscribes to every event on `bus`; returns the unsubscribe function. Events are dispatched
     * in batches, with the triggers read once per batch (as they are when the batch starts, so an
     * event that arrives after a trigger change sees it): one query per event could not keep up
     * with a burst, and the bus dropped what its queue could not hold. Failures are logged, never
     * thrown into the bus.
     */
    attach(bus: EventSubscriber): () => void {
      let pending: { event: OwnPilotEvent; replayed: boolean }[] = [];
      let draining = false;
      const drain = async () => {
        draining = true;
        while (pending.length > 0) {
          const batch = pending;
          pending = [];
          const triggers = await enabledEventTriggers().catch((error: unknown) => {
            logger.warn({ err: error, events: batch.length }, 'event trigger dispatch failed: the triggers could not be read');
            return [];
          });
          for (const { event, replayed } of batch) {
            await dispatchTo(triggers, event, replayed).catch((error: unknown) => logger.warn({ err: error, eventId: event.id }, 'event trigger dispatch failed'));
          }
        }
        draining = false;
      };
      const queue = (event: OwnPilotEvent, replayed: boolean) => {
        if (pending.length >= maxPending) {
          logger.warn({ eventId: event.id, type: event.type, maxPending }, 'event trigger dispatch is behind: event dropped');
          return;
        }
        pending.push({ event, replayed });
        if (!draining) void drain();
      };
      const id = bus.subscribe(EVENT_TRIGGER_SUBSCRIBER, '**', (event) => queue(event, false));
      // Subscribed first, so an event committed meanwhile is heard live, read back, or both (its run starts once).
      const catchUp = async (to: Date) => {
        const from = new Date(to.getTime() - catchUpMs);
        for (let offset = 0; ; offset += CATCH_UP_PAGE) {
          const page = await bus.getEventHistory({ from, to, order: 'asc', limit: CATCH_UP_PAGE, offset });
          for (const event of page) queue(event, true);
          if (page.length < CATCH_UP_PAGE) return;
        }
      };
      if (catchUpMs > 0) void catchUp(new Date()).catch((error: unknown) => logger.warn({ err: error }, 'event trigger catch-up from event_log failed'));
      return () => void bus.unsubscribe(id);
    },
  };
}
export type EventTriggerDispatcher = ReturnType<typeof createEventTriggerDispatcher>;
