import type { EventPublisher } from '../activities/events/event-types';
import type { Logger } from './logger';

/** An EventPublisher that only logs each event: the composition roots' stand-in until the event bus is wired. */
export function createLogEventPublisher(logger: Logger): EventPublisher {
  return {
    emit(type, data, source) {
      logger.info({ event: type, source, data }, 'event');
    },
  };
}
