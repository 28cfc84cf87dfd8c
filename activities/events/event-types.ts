import { z } from 'zod';

/** The namespaces an event type may start with; anything else is rejected. */
export const EVENT_CATEGORIES = ['system', 'tool', 'resource', 'plugin', 'agent', 'trigger', 'plan', 'database'] as const;
export const EventCategory = z.enum(EVENT_CATEGORIES);
export type EventCategory = z.infer<typeof EventCategory>;

/** `<category>.<segment>[.<segment>...]`, lower-case segments. */
export const EventType = z
  .string()
  .max(200)
  .regex(/^[a-z]+(\.[a-z0-9_-]+)+$/, 'dotted lower-case name such as tool.executed')
  .refine((t) => (EVENT_CATEGORIES as readonly string[]).includes(t.split('.')[0]!), 'unknown event namespace');

/**
 * The tool call during which an event was emitted (its requester and idempotency key; for a
 * call nested in a sandboxed tool, the outermost call). The bus stamps it; trigger cycle guards follow it.
 */
export const EventCause = z
  .object({
    requesterId: z.string().min(1).max(300),
    idempotencyKey: z.string().min(1).max(1000).optional(),
    /** The trigger firing the call was made for (`trigger:<id>`; the requester is the trigger's creator); set only by the trigger activities and, for a run a firing started, the plan activities. */
    via: z.string().min(1).max(300).optional(),
    /** How many plugin subscription handlers the chain that led to this event ran through (absent: none). */
    pluginHops: z.number().int().min(1).max(1000).optional(),
  })
  .strict();
export type EventCause = z.infer<typeof EventCause>;

/**
 * Who besides admin may read an event (principals such as `user:alice`), when its data belongs to
 * them alone: a plan run's events name the run's readers. Only services set it; absent, the
 * event type's own rule applies (see event-visibility.ts).
 */
export const EventAudience = z.array(z.string().min(1).max(300)).max(1000);
export type EventAudience = z.infer<typeof EventAudience>;

/** The envelope every event travels in, in process, across processes and in event_log. */
export const OwnPilotEvent = z.object({
  id: z.string().min(1),
  type: EventType,
  category: EventCategory,
  source: z.string().min(1),
  data: z.unknown(),
  timestamp: z.string().datetime(),
  /** Present when the event was emitted while a tool ran (see EventCause). */
  cause: EventCause.optional(),
  /** Present when only these principals (and admin) may read the event (see EventAudience). */
  audience: EventAudience.optional(),
});
export type OwnPilotEvent = z.infer<typeof OwnPilotEvent>;

/** What an emitting service may set on an event besides its type, data and source. */
export interface EmitOptions {
  /** Only these principals (and admin) may read the event; omit for the type's own rule. */
  audience?: readonly string[];
}

/** The narrow slice a service needs to publish: services depend on this, not on the bus. */
export interface EventPublisher {
  /** Publishes without waiting for subscribers; never throws because a subscriber failed. */
  emit(type: string, data: unknown, source: string, options?: EmitOptions): void;
}
