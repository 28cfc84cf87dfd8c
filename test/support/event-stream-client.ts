import type { Express } from 'express';
import { sseFrames, type SseFrame } from '../../cli/sse-frames';
import type { OwnPilotEvent } from '../../activities/events/event-types';
import { serve } from './serve';

/** An open `text/event-stream` response, read frame by frame. */
export interface OpenStream {
  status: number;
  headers: Headers;
  /** The error body of a refused stream. */
  body?: unknown;
  /** Reads data frames until `done` accepts the list read so far (or the stream ends); fails after timeoutMs with what it read. */
  readUntil(done: (frames: SseFrame[]) => boolean, timeoutMs?: number): Promise<SseFrame[]>;
  close(): void;
}

/** The event a data frame carries (only `data:` frames of events have one). */
export const eventOf = (frame: SseFrame) => JSON.parse(frame.data) as OwnPilotEvent;

/** Opens a stream at `url`; a non-2xx answer comes back with its JSON body and nothing to read. */
export async function openStream(url: string, headers: Record<string, string> = {}): Promise<OpenStream> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  const close = () => controller.abort();
  if (!res.ok || !res.body) return { status: res.status, headers: res.headers, body: await res.json(), readUntil: async () => [], close };
  const frames = sseFrames(res.body);
  const read: SseFrame[] = [];
  return {
    status: res.status,
    headers: res.headers,
    async readUntil(done, timeoutMs = 15_000) {
      const start = read.length;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`stream: condition not met after ${timeoutMs} ms; read ${JSON.stringify(read.slice(start)).slice(0, 2000)}`)), timeoutMs);
      });
      try {
        while (!done(read.slice(start))) {
          const next = await Promise.race([frames.next(), timeout]);
          if (next.done) break;
          read.push(next.value);
        }
        return read.slice(start);
      } finally {
        clearTimeout(timer);
      }
    },
    close,
  };
}

/**
 * The status, headers and body of one request to an app, for operations that may answer with a
 * stream: a 2xx stream is closed once its headers arrive (its body is then the empty object).
 */
export async function requestOnce(app: Express, method: string, path: string, headers: Record<string, string>, body?: string) {
  const served = await serve(app);
  const controller = new AbortController();
  try {
    const res = await fetch(`${served.url}${path}`, { method: method.toUpperCase(), headers, body, signal: controller.signal });
    const streaming = (res.headers.get('content-type') ?? '').startsWith('text/event-stream');
    const text = streaming ? '' : await res.text();
    let parsed: unknown = {};
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      parsed = {};
    }
    return { status: res.status, headers: Object.fromEntries(res.headers), text, body: parsed };
  } finally {
    controller.abort();
    await served.close();
  }
}

/** `METHOD /template` of every operation in an OpenAPI document that answers with an event stream. */
export function streamingOperations(document: { paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, unknown> }> }>> }): Set<string> {
  return new Set(
    Object.entries(document.paths).flatMap(([template, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => Object.values(op.responses ?? {}).some((r) => r.content?.['text/event-stream'] !== undefined))
        .map(([method]) => `${method} ${template}`),
    ),
  );
}
