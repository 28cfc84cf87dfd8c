import type { Logger } from '../../platform/logger';
import { createEventBus, type EventBusOptions } from './event-bus';
import { createPgEventStore, type PgEventStoreOptions } from './pg-event-store';

/** A started bus over PostgreSQL (event_log + LISTEN/NOTIFY); the caller owns `close()`, which flushes. */
export async function openEventBus(
  databaseUrl: string,
  logger: Logger,
  options: Partial<Omit<PgEventStoreOptions, 'databaseUrl' | 'logger'>> & Pick<EventBusOptions, 'defaultLimits' | 'observe'> = {},
) {
  const { defaultLimits, observe, ...storeOptions } = options;
  const bus = createEventBus({ logger, defaultLimits, observe, store: createPgEventStore({ databaseUrl, logger, ...storeOptions }) });
  await bus.start();
  return bus;
}
