import pg from 'pg';

export interface NotifyListener {
  close(): Promise<void>;
}

/**
 * Listens on PostgreSQL NOTIFY `channels` over one dedicated connection and calls `onNotify`
 * for each message. When the connection drops it calls `onNotify(channel, undefined)` for
 * every channel (a message may have been missed: callers clear their caches) and reconnects.
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

  function reconnectLater(): void {
    if (closed) return;
    retry = setTimeout(() => void connect().catch(reconnectLater), retryMs);
  }

  async function connect(): Promise<void> {
    const next = new pg.Client({ connectionString: databaseUrl });
    next.on('notification', (msg) => onNotify(msg.channel, msg.payload));
    next.on('error', () => undefined);
    next.on('end', () => {
      if (closed) return;
      for (const channel of channels) onNotify(channel, undefined);
      reconnectLater();
    });
    await next.connect();
    for (const channel of channels) await next.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    client = next;
  }

  await connect();
  return {
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      await client?.end();
    },
  };
}
