import { Client, Pool, type Notification } from 'pg';
import { isDatabaseUnavailable } from '../../platform/database-errors';
import type { Logger } from '../../platform/logger';
import { type EventHistoryFilters, parseCursor } from './event-history-schemas';
import { patternRegexSource } from './event-pattern';
import { OwnPilotEvent } from './event-types';
import { createWriteBatcher, type WriteDone } from './write-batcher';

/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; larger events travel by id. */
export const NOTIFY_PAYLOAD_LIMIT = 7999;

export interface PgEventStoreOptions {
  databaseUrl: string;
  logger: Logger;
  /** LISTEN/NOTIFY channel shared by every process on the database. */
  channel?: string;
  maxBatchSize?: number;
  flushDelayMs?: number;
  maxBuffered?: number;
  /** How long a batch waits out an unreachable PostgreSQL before it is dropped (default 60 s). */
  outageMs?: number;
  /** Most events read back from event_log after a lost listener connection (default 10,000); older ones stay missed. */
  maxCatchUp?: number;
}

/** How far before the last event heard the catch-up after a reconnect starts: events commit a little after they are stamped. */
export const CATCH_UP_OVERLAP_MS = 5_000;

/** What crosses processes: the origin bus instance and the event, or only its id when too large. */
type Wire = { o: string; e: OwnPilotEvent } | { o: string; i: string };

interface Row {
  id: string;
  event_type: string;
  category: string;
  source: string;
  data: unknown;
  timestamp: Date;
  cause: OwnPilotEvent['cause'] | null;
  audience: string[] | null;
}

/** The event_log columns a Row is read from. */
const COLUMNS = 'id, event_type, category, source, data, timestamp, cause, audience';

const toEvent = (r: Row): OwnPilotEvent => ({
  id: r.id,
  type: r.event_type,
  category: r.category as OwnPilotEvent['category'],
  source: r.source,
  data: r.data,
  timestamp: r.timestamp.toISOString(),
  ...(r.cause ? { cause: r.cause } : {}),
  ...(r.audience ? { audience: r.audience } : {}),
});

// One statement per batch: insert every event (idempotent by id) and NOTIFY only those newly
// inserted, in emit order. NOTIFY is transactional, so a listener hears of an event only once
// it is committed to event_log (which is what lets oversized events travel by id). An audience
// travels as a JSON array (unnest would flatten an array of arrays).
const APPEND_SQL = `
WITH rows AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::timestamptz[], $7::text[], $8::jsonb[], $9::jsonb[])
    WITH ORDINALITY AS r(id, event_type, category, source, data, ts, payload, cause, audience, n)
), ins AS (
  INSERT INTO event_log (id, event_type, category, source, data, timestamp, cause, audience)
  SELECT id, event_type, category, source, data, ts, cause,
    CASE WHEN audience IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(audience)) END FROM rows
  ON CONFLICT (id) DO NOTHING
  RETURNING id
)
SELECT pg_notify($10, s.payload) FROM (SELECT payload FROM rows WHERE id IN (SELECT id FROM ins) ORDER BY n) s`;

/**
 * event_log writer (batched), history reader and cross-process channel over PostgreSQL
 * LISTEN/NOTIFY. Uses its own connections (a pool of 2 and one listening client).
 */
export function createPgEventStore(options: PgEventStoreOptions) {
  const channel = options.channel ?? 'ownpilot_events';
  const { logger } = options;
  const pool = new Pool({ connectionString: options.databaseUrl, max: 2, options: '-c synchronous_commit=off' });
  pool.on('error', (error) => logger.warn({ error: error.message }, 'event store pool error'));
  const stats = { oversized: 0, received: 0, listenerReconnects: 0, droppedAfterClose: 0, caughtUp: 0 };
  const maxCatchUp = options.maxCatchUp ?? 10_000;
  /** Timestamp (ms) of the newest event heard, or of the first LISTEN: where a catch-up starts. */
  let lastHeard: number | undefined;
  let listener: Client | undefined;
  /** Backend pid of the listening connection (lets operators and tests find it in pg_stat_activity). */
  let listenerPid: number | undefined;
  let closed = false;

  const batcher = createWriteBatcher<{ event: OwnPilotEvent; origin: string }>({
    maxBatchSize: options.maxBatchSize ?? 500,
    flushDelayMs: options.flushDelayMs ?? 0,
    maxBuffered: options.maxBuffered ?? 100_000,
    retries: 3,
    isOutage: isDatabaseUnavailable,
    outageMs: options.outageMs ?? 60_000,
    onDropped: (count, error) => logger.error({ err: error, count }, 'events dropped from event_log'),
    async write(batch) {
      const cols: [string[], string[], string[], string[], (string | null)[], string[], string[], (string | null)[], (string | null)[]] = [[], [], [], [], [], [], [], [], []];
      for (const { event, origin } of batch) {
        cols[0].push(event.id);
        cols[1].push(event.type);
        cols[2].push(event.category);
        cols[3].push(event.source);
        cols[4].push(event.data === undefined ? null : JSON.stringify(event.data));
        cols[5].push(event.timestamp);
        let payload = JSON.stringify({ o: origin, e: event } satisfies Wire);
        if (Buffer.byteLength(payload) > NOTIFY_PAYLOAD_LIMIT) {
          stats.oversized++;
          payload = JSON.stringify({ o: origin, i: event.id } satisfies Wire);
        }
        cols[6].push(payload);
        cols[7].push(event.cause === undefined ? null : JSON.stringify(event.cause));
        cols[8].push(event.audience === undefined ? null : JSON.stringify(event.audience));
      }
      await pool.query(APPEND_SQL, [...cols, channel]);
    },
  });

  const load = async (id: string): Promise<OwnPilotEvent | undefined> => {
    const { rows } = await pool.query<Row>(`SELECT ${COLUMNS} FROM event_log WHERE id = $1`, [id]);
    return rows[0] && toEvent(rows[0]);
  };

  /** Parses one notification (loading an oversized event from event_log); undefined, logged, when it cannot be read. */
  const receive = async (payload: string): Promise<{ event: OwnPilotEvent; origin: string } | undefined> => {
    try {
      const wire = JSON.parse(payload) as Wire;
      const parsed = OwnPilotEvent.safeParse('e' in wire ? wire.e : await load(wire.i));
      if (parsed.success) return { event: parsed.data, origin: wire.o };
      logger.warn({ issues: parsed.error.issues }, 'ignored a malformed event notification');
    } catch (error) {
      logger.error({ err: error }, 'failed to receive an event notification');
    }
    return undefined;
  };

  /**
   * Hands on, oldest first, the events of event_log stamped from `since` on (at most `maxCatchUp`):
   * those committed while the listener was away. The bus drops the ones it already has.
   */
  const catchUp = async (since: Date, onEvent: (event: OwnPilotEvent, origin: string) => void): Promise<void> => {
    let after: { timestamp: Date; id: string } | undefined;
    let count = 0;
    while (count < maxCatchUp) {
      const { rows } = await pool.query<Row>(
        `SELECT ${COLUMNS} FROM event_log
         WHERE timestamp >= $1 AND ($2::timestamptz IS NULL OR (timestamp, id) > ($2, $3))
         ORDER BY timestamp, id LIMIT $4`,
        [since, after?.timestamp ?? null, after?.id ?? null, Math.min(500, maxCatchUp - count)],
      );
      for (const row of rows) onEvent(toEvent(row), '');
      count += rows.length;
      if (rows.length === 0 || count >= maxCatchUp) break;
      after = rows[rows.length - 1]!;
    }
    stats.caughtUp += count;
    if (count >= maxCatchUp) logger.warn({ since, count }, 'event catch-up stopped at its limit: older events committed while the listener was away are missed');
  };

  const connectListener = async (onEvent: (event: OwnPilotEvent, origin: string) => void, onReconnected?: () => void): Promise<void> => {
    const client = new Client({ connectionString: options.databaseUrl });
    const reconnect = (error?: Error) => {
      if (closed || listener !== client) return;
      listener = undefined;
      listenerPid = undefined;
      stats.listenerReconnects++;
      logger.warn({ err: error }, 'event listener lost its connection; reconnecting (then catching up from event_log)');
      client.removeAllListeners();
      client.on('error', () => undefined);
      void client.end().catch(() => undefined);
      const retry = (delay: number) =>
        setTimeout(() => {
          if (closed) return;
          connectListener(onEvent, onReconnected).then(
            () => onReconnected?.(),
            () => retry(Math.min(delay * 2, 5000)),
          );
        }, delay);
      retry(100);
    };
    client.on('error', reconnect);
    client.on('end', () => reconnect(new Error('connection ended')));
    const hear = (event: OwnPilotEvent, origin: string) => {
      lastHeard = Math.max(lastHeard ?? 0, Date.parse(event.timestamp));
      onEvent(event, origin);
    };
    // Events are handed on in NOTIFY (commit) order: one that must be loaded from event_log
    // (oversized) holds back those notified after it, while loads still run side by side. On a
    // reconnect, the catch-up from event_log goes first: it starts once LISTEN is on, so an event
    // committed meanwhile is in the catch-up, in a notification, or in both (the bus drops repeats).
    let startCatchUp!: (since: Date | undefined) => void;
    let handedOn: Promise<void> = new Promise<Date | undefined>((resolve) => (startCatchUp = resolve))
      .then((since) => since && catchUp(since, hear))
      .catch((error: unknown) => logger.error({ err: error }, 'event catch-up after a reconnect failed: events committed meanwhile are missed'));
    client.on('notification', (message: Notification) => {
      if (message.channel !== channel || !message.payload) return;
      stats.received++;
      const received = receive(message.payload);
      handedOn = handedOn
        .then(async () => {
          const got = await received;
          if (got) hear(got.event, got.origin);
        })
        .catch((error: unknown) => logger.error({ err: error }, 'failed to hand on an event notification'));
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
      listenerPid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
    } catch (error) {
      await client.end().catch(() => undefined); // a half-open attempt must not linger beside the next one
      throw error;
    }
    if (closed) {
      await client.end().catch(() => undefined);
      return;
    }
    listener = client;
    startCatchUp(lastHeard === undefined ? undefined : new Date(lastHeard - CATCH_UP_OVERLAP_MS));
    lastHeard ??= Date.now();
  };

  return {
    /** Buffers the event for event_log and the channel; `done` says whether it was committed (false: dropped). */
    append(event: OwnPilotEvent, origin: string, done?: WriteDone): void {
      if (closed) {
        stats.droppedAfterClose++;
        logger.warn({ eventId: event.id, type: event.type }, 'event emitted after the bus closed: not logged or sent');
        done?.(false);
        return;
      }
      batcher.add({ event, origin }, done);
    },

    /**
     * Starts hearing events committed by any process on this database (including this one).
     * After a lost connection it reconnects by itself, hands on what event_log got meanwhile (from
     * 5 s before the last event heard, at most `maxCatchUp`, origin ''), then calls `onReconnected`.
     */
    listen(onEvent: (event: OwnPilotEvent, origin: string) => void, onReconnected?: () => void): Promise<void> {
      return connectListener(onEvent, onReconnected);
    },

    /**
     * One page of event_log in `filters.order` (newest first by default), filtered by type pattern,
     * category, source and time range and, with `reader`, to the events that principal may read
     * (event-visibility.ts's mayReadEvent, here in SQL so that pages stay full).
     */
    async query(filters: EventHistoryFilters, reader?: string): Promise<OwnPilotEvent[]> {
      const direction = filters.order === 'asc' ? 'ASC' : 'DESC';
      const after = filters.cursor === undefined ? undefined : parseCursor(filters.cursor);
      const { rows } = await pool.query<Row>(
        `SELECT ${COLUMNS} FROM event_log
         WHERE ($1::text IS NULL OR ('.' || event_type) ~ $1)
           AND ($2::text IS NULL OR category = $2)
           AND ($3::text IS NULL OR source = $3)
           AND ($4::timestamptz IS NULL OR timestamp >= $4)
           AND ($5::timestamptz IS NULL OR timestamp <= $5)
           AND ($8::text IS NULL OR ((audience IS NULL OR $8 = ANY(audience)) AND CASE
                 WHEN starts_with($8, 'plugin:') THEN starts_with(event_type, 'plugin.' || substr($8, 8) || '.')
                 WHEN starts_with($8, 'user:') THEN NOT starts_with(event_type, 'resource.') OR source = $8
                 ELSE false END))
           AND ($9::timestamptz IS NULL OR (timestamp, id) ${direction === 'ASC' ? '>' : '<'} ($9, $10))
         ORDER BY timestamp ${direction}, id ${direction}
         LIMIT $6 OFFSET $7`,
        [
          filters.type === undefined ? null : patternRegexSource(filters.type),
          filters.category ?? null,
          filters.source ?? null,
          filters.from ?? null,
          filters.to ?? null,
          filters.limit,
          filters.offset,
          reader ?? null,
          after?.timestamp ?? null,
          after?.id ?? null,
        ],
      );
      return rows.map(toEvent);
    },

    /** Writes everything buffered so far. */
    flush: () => batcher.flush(),

    /** Write and channel counters. */
    stats: () => ({ log: batcher.stats(), ...stats, listening: listener !== undefined, listenerPid }),

    /** Flushes the buffer, stops listening and closes the connections. */
    async close(): Promise<void> {
      closed = true;
      await batcher.flush();
      const l = listener;
      listener = undefined;
      if (l) {
        l.removeAllListeners();
        l.on('error', () => undefined);
        await l.end().catch(() => undefined);
      }
      await pool.end();
    },
  };
}
export type PgEventStore = ReturnType<typeof createPgEventStore>;
