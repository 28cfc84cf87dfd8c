import pg from 'pg';

/** The PostgreSQL NOTIFY channel on which every registry instance announces a changed tool name. */
export const TOOL_REGISTRY_CHANNEL = 'ownpilot_tool_registry';
/** Payload meaning "forget everything" (e.g. after a bulk change). */
export const INVALIDATE_ALL = '*';

/**
 * A per-name read-through cache (misses cached too). A load that started before an
 * invalidation never stores its (possibly stale) result. Past `maxEntries` names (lookups of
 * made-up names are misses too) it starts over, so it never grows without bound.
 */
export function createToolCache<T>(load: (name: string) => Promise<T | null>, maxEntries = 10_000) {
  const entries = new Map<string, T | null>();
  let generation = 0;
  let enabled = true;

  return {
    /** The cached value, loading it on a miss; bypasses the cache while disabled. */
    async get(name: string): Promise<T | null> {
      const hit = entries.get(name);
      if (hit !== undefined) return hit;
      const started = generation;
      const value = await load(name);
      if (enabled && started === generation) {
        if (entries.size >= maxEntries) entries.clear();
        entries.set(name, value);
      }
      return value;
    },
    /** Drops one name, or everything for INVALIDATE_ALL. */
    invalidate(name: string): void {
      generation += 1;
      if (name === INVALIDATE_ALL) entries.clear();
      else entries.delete(name);
    },
    /** Turns caching off (e.g. while cross-process invalidation is not connected) and clears it. */
    setEnabled(on: boolean): void {
      enabled = on;
      generation += 1;
      entries.clear();
    },
    get size(): number {
      return entries.size;
    },
  };
}
export type ToolCache<T> = ReturnType<typeof createToolCache<T>>;

export interface InvalidationListenerOptions {
  databaseUrl: string;
  onInvalidate(name: string): void;
  /** Called with false when the connection is lost (the cache must stop trusting itself) and true once listening again. */
  onConnected(connected: boolean): void;
  onError?(error: Error): void;
  reconnectDelayMs?: number;
}

/**
 * LISTENs on TOOL_REGISTRY_CHANNEL over a dedicated connection, reconnecting after failures.
 * `ready` resolves once the first LISTEN is in place; `close()` stops for good.
 */
export function listenForInvalidations({ databaseUrl, onInvalidate, onConnected, onError, reconnectDelayMs = 1_000 }: InvalidationListenerOptions) {
  let client: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;

  const scheduleReconnect = (): void => {
    if (closed) return;
    retry = setTimeout(() => {
      connect().catch((error: Error) => {
        onError?.(error);
        scheduleReconnect();
      });
    }, reconnectDelayMs);
  };

  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString: databaseUrl });
    next.on('notification', (message) => {
      if (message.channel === TOOL_REGISTRY_CHANNEL) onInvalidate(message.payload ?? INVALIDATE_ALL);
    });
    let gone = false;
    const lost = (error?: Error) => {
      if (gone) return;
      gone = true;
      const wasCurrent = client === next;
      if (wasCurrent) client = undefined;
      next.end().catch(() => undefined);
      if (!wasCurrent || closed) return;
      onConnected(false);
      if (error) onError?.(error);
      scheduleReconnect();
    };
    next.on('error', lost);
    next.on('end', () => lost());
    try {
      await next.connect();
      await next.query(`LISTEN ${TOOL_REGISTRY_CHANNEL}`);
    } catch (error) {
      gone = true;
      await next.end().catch(() => undefined);
      throw error;
    }
    if (closed) {
      gone = true;
      await next.end();
      return;
    }
    client = next;
    onConnected(true);
  };

  const ready = connect();
  return {
    ready,
    async close(): Promise<void> {
      closed = true;
      clearTimeout(retry);
      const current = client;
      client = undefined;
      await current?.end().catch(() => undefined);
    },
  };
}
