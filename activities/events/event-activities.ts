import { permanentFailures } from '../activity-failure';
import type { EventBus } from './event-bus';

export interface EmitEventInput {
  type: string;
  data: unknown;
  source: string;
  /** A deterministic id (e.g. `<workflowId>/<n>`) makes a retried activity emit the event once. */
  id?: string;
}

/** Activities that let workflows publish on the event bus. */
export function createEventActivities({ events }: { events: Pick<EventBus, 'emitAsync'> }) {
  return {
    /**
     * Emits and waits until the event is committed to event_log (a slow subscriber never stalls a
     * workflow); a bad event fails non-retryably, a failed write (UNAVAILABLE) is retried.
     */
    emitEvent: (input: EmitEventInput): Promise<{ id: string }> =>
      permanentFailures(async () => {
        const event = await events.emitAsync(input.type, input.data, input.source, { id: input.id, until: 'committed' });
        return { id: event.id };
      }),
  };
}
export type EventActivities = ReturnType<typeof createEventActivities>;
