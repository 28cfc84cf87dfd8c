import type { CommandContext } from './command-types';

type Event = { id: string; type: string; source: string; timestamp: string; data: unknown };

/** How far back each poll looks again: an event is stamped when emitted and may commit (or come from a process whose clock lags) a little later. */
const OVERLAP_MS = 5_000;
const PAGE = 500;

/**
 * `events tail`: every event committed after the tail started, oldest first, each once. Each
 * poll reads every page since the last event seen minus OVERLAP_MS, so a burst larger than one
 * page, or an event that commits late, is not skipped.
 */
export async function tailEvents(c: CommandContext, type: string | undefined): Promise<void> {
  const started = Date.now();
  let since = started;
  const seen = new Map<string, number>();
  for (;;) {
    const fresh: Event[] = [];
    for (let offset: number | null = 0; offset !== null; ) {
      const query = new URLSearchParams({ from: new Date(since - OVERLAP_MS).toISOString(), limit: String(PAGE), offset: String(offset), ...(type ? { type } : {}) });
      const page: { items: Event[]; nextOffset: number | null } = await c.api.get(`/api/v1/events?${query.toString()}`);
      fresh.push(...page.items.filter((e) => !seen.has(e.id) && Date.parse(e.timestamp) >= started));
      offset = page.nextOffset;
    }
    // Pages are newest first, and a row may repeat when new events shift the offsets.
    const unique = [...new Map(fresh.map((e) => [e.id, e])).values()].sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
    for (const event of unique) {
      const at = Date.parse(event.timestamp);
      seen.set(event.id, at);
      since = Math.max(since, at);
      c.out.write(c.out.json ? `${JSON.stringify(event)}\n` : `${event.timestamp}  ${event.type.padEnd(28)} ${event.source.padEnd(16)} ${JSON.stringify(event.data)}\n`);
    }
    for (const [id, at] of seen) if (at < since - OVERLAP_MS) seen.delete(id);
    if (c.flags.once) return;
    await c.sleep(1000);
  }
}
