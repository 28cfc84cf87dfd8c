import { ApiError } from '../api-client';
import type { CommandContext } from './command-types';

export type Event = { id: string; type: string; source: string; timestamp: string; data: unknown };

/** How long a lost stream waits before it reconnects. */
const RECONNECT_MS = 2_000;
/** The server replays from 5 s before the resume point: ids stay remembered twice that long, so a replayed event prints once. */
const DEDUPE_MS = 10_000;

/** One event as a line: JSON for scripts; time, type, source and data for people. */
export function eventLine(event: Event, json: boolean): string {
  return json ? `${JSON.stringify(event)}\n` : `${event.timestamp}  ${event.type.padEnd(28)} ${event.source.padEnd(16)} ${JSON.stringify(event.data)}\n`;
}

/**
 * `events tail`: follows the API's live event stream, oldest first, after replaying the events
 * since `--since` when given. A lost, overflowed or failed stream reconnects from its last event
 * (Last-Event-ID) and events the server replays again print once. A refusal (bad pattern,
 * forbidden) or an API unreachable from the start ends the command; one lost later is waited for.
 * `since` is an ISO 8601 instant; without it the tail starts now.
 */
export async function tailEvents(c: CommandContext, type: string | undefined, since: string | undefined): Promise<void> {
  const from = since ?? new Date().toISOString();
  let lastEventId: string | undefined;
  const seen = new Map<string, number>();
  let printed = 0;
  let connected = false;
  for (;;) {
    // Once an event has arrived, the server resumes from Last-Event-ID instead of `from`.
    const query = new URLSearchParams({ ...(type ? { type } : {}), from });
    try {
      const frames = await c.api.stream(`/api/v1/events/stream?${query.toString()}`, lastEventId);
      connected = true;
      for await (const frame of frames) {
        if (frame.event === 'overflow' || frame.event === 'error') break;
        lastEventId = frame.id ?? lastEventId;
        const event = JSON.parse(frame.data) as Event;
        if (seen.has(event.id)) continue;
        const at = Date.parse(event.timestamp);
        seen.set(event.id, at);
        c.out.write(eventLine(event, c.out.json));
        if (++printed % 1_000 === 0) for (const [id, t] of seen) if (t < at - DEDUPE_MS) seen.delete(id);
      }
    } catch (error) {
      // Never connected: a wrong URL or key, said at once. Connected before: the API restarts, so wait for it.
      if (!connected || (error instanceof ApiError && error.status >= 400 && error.status < 500 && error.status !== 429)) throw error;
    }
    await c.sleep(RECONNECT_MS);
  }
}
