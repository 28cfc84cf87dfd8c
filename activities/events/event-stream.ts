import { randomUUID } from 'node:crypto';
import { AppError } from '../../platform/errors';
import type { EventBus } from './event-bus';
import type { EventStreamFilters } from './event-api-schemas';
import { eventScope } from './event-visibility';
import type { OwnPilotEvent } from './event-types';

/**
 * How far before the subscription a replayed event may still arrive live too: an event is stamped
 * when emitted and may commit (or come from a process whose clock lags) a little later.
 */
export const REPLAY_OVERLAP_MS = 5_000;

export interface EventStreamOptions {
  events: Pick<EventBus, 'subscribe' | 'clearSubscriptions' | 'getEventHistory'>;
  /** Streams one principal may hold open at once; one more is RATE_LIMITED. */
  maxPerPrincipal?: number;
  /** Live events held for a reader that does not keep up; beyond this the stream ends as overflowed. */
  maxBuffered?: number;
  /** event_log rows read per page while replaying. */
  pageSize?: number;
}

/**
 * How a stream ended: its reader went away (or the server closed it), it fell `maxBuffered` events
 * behind, or its key stopped passing (`refused`: why, as the API would answer a new request).
 */
export type StreamEnd = 'closed' | 'overflow' | { refused: AppError };

/** The key a stream was opened with: re-checked when keys or plugin statuses change. */
export interface StreamKey {
  keyId: string;
  /** Throws (an AppError says why) when the key would no longer open this stream. */
  check(): Promise<void>;
}

/** One open stream: `events` yields replayed then live events, and returns how the stream ended. */
export interface EventStream {
  events: AsyncGenerator<OwnPilotEvent, StreamEnd>;
  /** Ends the stream (idempotent): `events` returns 'closed' at its next step. */
  close(): void;
}

/**
 * Live event streams for people and tools outside the process: the events of one pattern as the
 * bus hears them (from every process), after those of event_log from `from` on, each once, with
 * the reader's visibility rules (`eventScope`). A reader that falls too far behind is cut off
 * rather than buffered without bound: it reconnects from its last event and replays the gap.
 */
export function createEventStreams({ events, maxPerPrincipal = 10, maxBuffered = 5_000, pageSize = 500 }: EventStreamOptions) {
  const openByPrincipal = new Map<string, number>();
  const open = new Map<EventStream, { principal: string; key?: StreamKey; refuse(error: AppError): void }>();

  /** Ends the stream (through `refuse`) when its key no longer passes; a check that cannot finish ends it too, and the reader reconnects. */
  const checkAgain = (key: StreamKey, refuse: (error: AppError) => void): Promise<void> =>
    key.check().catch((error: unknown) => refuse(error instanceof AppError ? error : new AppError('UNAVAILABLE', 'the API key could not be checked again; reconnect with Last-Event-ID')));

  return {
    /**
     * Opens a stream (FORBIDDEN outside the principal's scope, RATE_LIMITED beyond maxPerPrincipal);
     * with `key`, `recheck` ends it once that key no longer passes.
     */
    open(principal: string, filters: EventStreamFilters, key?: StreamKey): EventStream {
      const scope = eventScope(principal, { type: filters.type, category: filters.category, source: filters.source });
      const held = openByPrincipal.get(principal) ?? 0;
      if (held >= maxPerPrincipal) throw new AppError('RATE_LIMITED', `${principal} already holds ${held} event streams`, { limit: maxPerPrincipal });
      openByPrincipal.set(principal, held + 1);

      const wanted = (event: OwnPilotEvent) =>
        (scope.query.category === undefined || event.category === scope.query.category) && (scope.query.source === undefined || event.source === scope.query.source) && scope.visible(event);
      let live: OwnPilotEvent[] = [];
      let overflowed = false;
      let refused: AppError | undefined;
      let closed = false;
      let wake: (() => void) | undefined;
      const subscriberId = `stream:${principal}:${randomUUID()}`;
      // Subscribed before the replay reads event_log, so an event committed meanwhile is in one or the other.
      const subscribedAt = Date.now();
      const overflow = () => {
        overflowed = true;
        wake?.();
      };
      events.subscribe(subscriberId, scope.query.type ?? '**', (event) => {
        if (!wanted(event)) return;
        if (live.length >= maxBuffered) overflow();
        else {
          live.push(event);
          wake?.();
        }
      }, { onOverflow: overflow }); // a burst beyond the bus's own queue is lost to this stream too: the reader must resume

      const close = () => {
        if (closed) return;
        closed = true;
        events.clearSubscriptions(subscriberId);
        const left = (openByPrincipal.get(principal) ?? 1) - 1;
        if (left > 0) openByPrincipal.set(principal, left);
        else openByPrincipal.delete(principal);
        open.delete(stream);
        wake?.();
      };

      // Why the stream ends before it overflows, if it does: its reader left, or its key stopped passing.
      const stopped = (): StreamEnd | undefined => (closed ? 'closed' : refused && { refused });

      async function* run(): AsyncGenerator<OwnPilotEvent, StreamEnd> {
        let end: StreamEnd | undefined;
        try {
          // Ids replayed that the live buffer may hold too: those stamped near or after the subscription.
          const replayed = new Set<string>();
          if (filters.from) {
            let previousPage = new Set<string>();
            // Keyset-like paging: each page starts at the last timestamp read, so offsets stay small however long the replay.
            let from = filters.from;
            for (let offset = 0; !stopped(); ) {
              const page = await events.getEventHistory({ ...scope.query, from, order: 'asc', limit: pageSize, offset }, scope.reader);
              // A row committed late shifts the pages after it: the row at a page's end may open the next.
              const fresh = page.filter((e) => !previousPage.has(e.id));
              previousPage = new Set(page.map((e) => e.id));
              for (const event of fresh) {
                if (Date.parse(event.timestamp) >= subscribedAt - REPLAY_OVERLAP_MS) replayed.add(event.id);
                if (scope.visible(event)) yield event;
                if ((end = stopped())) return end;
              }
              if (page.length < pageSize) break;
              const last = Date.parse(page[page.length - 1]!.timestamp);
              if (last === from.getTime()) offset += page.length; // a whole page in one millisecond
              else {
                from = new Date(last);
                offset = page.filter((e) => Date.parse(e.timestamp) === last).length;
              }
            }
          }
          for (;;) {
            if ((end = stopped())) return end;
            const batch = live;
            live = [];
            for (const event of batch) {
              if (replayed.has(event.id)) continue;
              yield event;
              if ((end = stopped())) return end;
            }
            if (live.length > 0) continue;
            if (overflowed) return 'overflow';
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
          }
        } finally {
          close();
        }
      }

      const stream: EventStream = { events: run(), close };
      const refuse = (error: AppError) => {
        refused ??= error;
        wake?.();
      };
      open.set(stream, { principal, key, refuse });
      // Once more now that recheck can find it: a revoke between the request's check and here notified no one.
      if (key) void checkAgain(key, refuse);
      return stream;
    },

    /** Ends every open stream (the API is shutting down: readers reconnect elsewhere). */
    closeAll(): void {
      for (const stream of [...open.keys()]) stream.close();
    },

    /**
     * Re-checks the key of every open stream that `changed` names (a key id or a principal;
     * undefined: all, as after a lost notification) and ends those whose key no longer passes.
     * Callers clear the key cache first. A check that cannot finish ends its stream too: the
     * reader reconnects and authenticates afresh.
     */
    async recheck(changed: string | undefined): Promise<void> {
      const affected = [...open.values()].flatMap(({ principal, key, refuse }) =>
        key && (changed === undefined || changed === key.keyId || changed === principal) ? [{ key, refuse }] : [],
      );
      await Promise.all(affected.map(({ key, refuse }) => checkAgain(key, refuse)));
    },

    /** Open streams, in total and per principal. */
    openStreams: () => ({ total: open.size, byPrincipal: Object.fromEntries(openByPrincipal) }),
  };
}
export type EventStreams = ReturnType<typeof createEventStreams>;
