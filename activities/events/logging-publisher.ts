import type { Logger } from '../../platform/logger';
import type { EventPublisher } from './event-types';

/** Stand-in EventPublisher for the composition roots until the event bus exists: logs each event at debug level. */
export function createLoggingPublisher(logger: Pick<Logger, 'debug'>): EventPublisher {
  return {
    emit(type, data, source) {
      logger.debug({ event: type, source, data }, 'event');
    },
  };
}
