import { AsyncLocalStorage } from 'node:async_hooks';
import type { EventCause } from './event-types';

// The tool call running on this async path; the bus stamps it on every event emitted meanwhile.
const current = new AsyncLocalStorage<EventCause>();

/** Runs `fn` with `cause` as the cause of every event emitted on its async path (nested runs replace it). */
export function runWithCause<T>(cause: EventCause, fn: () => T): T {
  return current.run(cause, fn);
}

/** The cause of an event emitted right now, or undefined outside any tool call. */
export function currentCause(): EventCause | undefined {
  return current.getStore();
}

/** Runs `fn` outside any cause, so work it schedules (subscriber deliveries, batched writes) does not inherit the emitter's. */
export function withoutCause<T>(fn: () => T): T {
  return current.exit(fn);
}
