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
    /**
     * `nextCursor` of the page before: the page continues after that event in `order`. Unlike an
     * offset, events logged meanwhile do not shift it (a newest-first reader sees no event twice).
     */
    cursor: z
      .string()
      .max(300)
      .refine((value) => parseCursor(value) !== undefined, 'malformed cursor: pass nextCursor of the page before')
      .optional(),
    /** `desc` (newest first, the default) or `asc` (oldest first: reading forward from `from`). */
    order: z.enum(['desc', 'asc']).default('desc'),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, { message: '`from` must not be after `to`', path: ['from'] })
  .refine((q) => q.cursor === undefined || q.offset === 0, { message: 'page with `cursor` or with `offset`, not both', path: ['cursor'] })
  .refine((q) => q.cursor === undefined || parseCursor(q.cursor)?.order === q.order, {
    message: 'the cursor continues a listing in the other order: pass the order (and filters) of the page it came from',
    path: ['cursor'],
  });

/** The order and the event a cursor names (`<order>|<timestamp>|<id>`), or undefined for a malformed one. */
export function parseCursor(cursor: string): { order: 'asc' | 'desc'; timestamp: Date; id: string } | undefined {
  const [order, at = '', id] = cursor.split('|');
  const timestamp = new Date(at);
  return (order === 'asc' || order === 'desc') && id && !Number.isNaN(timestamp.getTime()) ? { order, timestamp, id } : undefined;
}

/** The cursor of the page after one ending with `last`, in `order` (a cursor only continues its own order). */
export function cursorAfter(order: 'asc' | 'desc', last: { timestamp: string; id: string }): string {
  return `${order}|${last.timestamp}|${last.id}`;
}
export type EventHistoryQuery = z.input<typeof EventHistoryQuery>;
export type EventHistoryFilters = z.output<typeof EventHistoryQuery>;
