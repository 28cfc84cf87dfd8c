import pg from 'pg';

export interface NotifyListener {
  close(): Promise<void>;
}

/**
 * Listens on PostgreSQL NOTIFY `channels` over one dedicated connection and calls `onNotify`
 * for each message. When the connection drops it calls `onNotify(channel, undefined)` for
 * every channel (a message may have been missed: callers clear their caches) and reconnects
 * every `retryMs` until it is listening again: one connection at a time, however long it takes.
 */
export async function listenForNotifications(
  databaseUrl: string,
  channels: readonly string[],
  onNotify: (channel: string, payload: string | undefined) => void,
  retryMs = 1000,
): Promise<NotifyListener> {
  let closed = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;

  // The one place a reconnect is scheduled: a failed attempt and a lost connection both come here once.
  function reconnectLater(): void {
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      connect().then(() => {
        // Messages sent while disconnected are gone: callers drop what they cached meanwhile.
        if (!closed) for (const channel of channels) onNotify(channel, undefined);
      }, reconnectLater);
    }, retryMs);
  }

  async function connect(): Promise<void> {
    const next = new pg.Client({ connectionString: databaseUrl });
    let settled = false; // until connect() resolves, its caller handles failures
    next.on('notification', (msg) => onNotify(msg.channel, msg.payload));
    next.on('error', () => undefined);
    next.on('end', () => {
      if (!settled || closed || client !== next) return;
      client = undefined;
      for (const channel of channels) onNotify(channel, undefined);
      reconnectLater();
    });
    try {
      await next.connect();
      for (const channel of channels) await next.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    } catch (error) {
      await next.end().catch(() => undefined);
      throw error;
    }
    if (closed) {
      await next.end().catch(() => undefined);
      return;
    }
    client = next;
    settled = true;
  }

  await connect();
  return {
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      const current = client;
      client = undefined;
      await current?.end().catch(() => undefined);
    },
  };
}
