import { z } from 'zod';
import { EventType } from './event-types';

/** Body of `POST /api/v1/events`: the caller's principal becomes the source. */
export const EmitEventBody = z.object({ type: EventType, data: z.unknown().optional() });
export type EmitEventBody = z.infer<typeof EmitEventBody>;

/** Query of `GET /api/v1/events/subscriptions`. */
export const ListSubscriptionsQuery = z.object({ subscriberId: z.string().min(1).max(200).optional() });
