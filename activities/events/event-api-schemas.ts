import { z } from 'zod';
import { EventPattern } from './event-pattern';
import { EventCategory, EventType } from './event-types';

/**
 * The `audience` field of what a principal emits (`POST /api/v1/events`, core.events.emit): refused,
 * not dropped. Only OwnPilot's services set one, and a caller who sent it would otherwise believe an
 * event every reader of its type sees was private.
 */
export const NoCallerAudience = z.never({ error: 'audience is set only by OwnPilot services; an emitted event is readable by every reader of its type' }).optional();

/** Body of `POST /api/v1/events`: the caller's principal becomes the source. */
export const EmitEventBody = z.object({ type: EventType, data: z.unknown().optional(), audience: NoCallerAudience });
export type EmitEventBody = z.infer<typeof EmitEventBody>;

/** Query of `GET /api/v1/events/subscriptions`. */
export const ListSubscriptionsQuery = z.object({ subscriberId: z.string().min(1).max(200).optional() });

/**
 * Query of `GET /api/v1/events/stream`: the events to follow (type pattern, category, source) and
 * where to start: `from` replays event_log from that instant first; without it the stream is live only.
 */
export const EventStreamQuery = z.object({
  type: EventPattern.optional(),
  category: EventCategory.optional(),
  source: z.string().min(1).max(200).optional(),
  from: z.coerce.date().optional(),
});
export type EventStreamFilters = z.output<typeof EventStreamQuery>;

/** `Last-Event-ID`, sent by a reconnecting reader: the stream's ids are the events' timestamps. */
export const LastEventId = z.iso.datetime({ offset: true });
