import { z } from 'zod';
import { EventPattern } from './event-pattern';
import { EventCategory } from './event-types';

/** Filters of `getEventHistory` and of `GET /api/v1/events` (query strings are coerced). */
export const EventHistoryQuery = z
  .object({
    type: EventPattern.optional(),
    category: EventCategory.optional(),
    source: z.string().min(1).max(200).optional(),
    from: z.coerce.date().optional(),
    to: z.coerce.date().optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
    /** `desc` (newest first, the default) or `asc` (oldest first: reading forward from `from`). */
    order: z.enum(['desc', 'asc']).default('desc'),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, { message: '`from` must not be after `to`', path: ['from'] });
export type EventHistoryQuery = z.input<typeof EventHistoryQuery>;
export type EventHistoryFilters = z.output<typeof EventHistoryQuery>;
