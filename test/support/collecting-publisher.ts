import type { EmitOptions, EventPublisher } from '../../activities/events/event-types';

export interface CollectedEvent {
  type: string;
  data: unknown;
  source: string;
  audience?: readonly string[];
}

/** An EventPublisher that keeps every event in memory for assertions and passes it on to `forward` (the stack's bus). */
export function createCollectingPublisher(forward?: EventPublisher) {
  const events: CollectedEvent[] = [];
  return {
    events,
    emit(type: string, data: unknown, source: string, options?: EmitOptions) {
      events.push({ type, data, source, ...(options?.audience ? { audience: options.audience } : {}) });
      forward?.emit(type, data, source, options);
    },
    /** Events of one type, oldest first. */
    ofType(type: string): CollectedEvent[] {
      return events.filter((e) => e.type === type);
    },
    clear(): void {
      events.length = 0;
    },
  } satisfies EventPublisher & Record<string, unknown>;
}
export type CollectingPublisher = ReturnType<typeof createCollectingPublisher>;
