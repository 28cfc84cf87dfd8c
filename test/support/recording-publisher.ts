import type { EventPublisher } from '../../activities/events/event-types';

export interface RecordedEvent {
  type: string;
  data: unknown;
  source: string;
}

export type RecordingPublisher = EventPublisher & { events: RecordedEvent[]; ofType(type: string): RecordedEvent[] };

/** An EventPublisher that keeps what it was given, for assertions. */
export function createRecordingPublisher(): RecordingPublisher {
  const events: RecordedEvent[] = [];
  return {
    events,
    emit(type, data, source) {
      events.push({ type, data, source });
    },
    ofType: (type) => events.filter((e) => e.type === type),
  };
}
