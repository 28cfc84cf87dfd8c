import type { Request, Response } from 'express';
import type { EventStream } from '../activities/events/event-stream';
import type { Logger } from '../platform/logger';

/** A comment line this often keeps proxies from closing an idle stream and finds dead readers. */
const PING_MS = 15_000;
/** What EventSource waits before reconnecting after the stream ends. */
const RETRY_MS = 2_000;

const frame = (fields: string) => `${fields}\n\n`;
/** The `error` frame that ends a stream, its data shaped as the API's error bodies. */
const errorFrame = (code: string, message: string, details: unknown) => frame(`event: error\ndata: ${JSON.stringify({ error: { code, message, details } })}`);

/**
 * Serves an event stream as `text/event-stream`: one `data:` frame per event (the event as JSON),
 * its `id:` the event's timestamp so a reconnecting reader resumes from there. A reader that does
 * not keep up is waited for (socket backpressure) until the stream overflows; then an `overflow`
 * frame ends it. A failure after the headers are sent, or a key that no longer passes, ends it with
 * an `error` frame instead.
 */
export async function sendEventStream(req: Request, res: Response, stream: EventStream, logger: Logger): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.write(frame(`retry: ${RETRY_MS}`));
  const ping = setInterval(() => res.write(frame(': ping')), PING_MS);
  const gone = new Promise<void>((resolve) => res.once('close', resolve));
  void gone.then(stream.close);
  try {
    for (;;) {
      const next = await stream.events.next();
      if (next.done) {
        if (typeof next.value === 'object') res.write(errorFrame(next.value.refused.code, next.value.refused.message, next.value.refused.details ?? null));
        else if (next.value === 'overflow') res.write(frame(`event: overflow\ndata: ${JSON.stringify({ message: 'the reader fell too far behind; reconnect with Last-Event-ID to replay the rest' })}`));
        break;
      }
      const event = next.value;
      if (!res.write(frame(`id: ${event.timestamp}\ndata: ${JSON.stringify(event)}`))) {
        await Promise.race([new Promise((resolve) => res.once('drain', resolve)), gone]);
      }
    }
  } catch (error) {
    const requestId = String(res.getHeader('x-request-id') ?? '');
    logger.error({ err: error, requestId, path: req.path }, 'event stream failed');
    res.write(errorFrame('INTERNAL', 'the event stream failed; reconnect with Last-Event-ID', { requestId }));
  } finally {
    clearInterval(ping);
    stream.close();
    res.end();
  }
}
