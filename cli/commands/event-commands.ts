import { stringFlag, type Command } from './command-types';
import { tailEvents } from './event-tail';
import { instantFlag } from './time-flags';

/** `ownpilot events ...`: the event bus as the API shows it to the caller. */
export function eventCommands(): Record<string, Command> {
  return {
    'events tail': (c) => tailEvents(c, stringFlag(c, 'type'), instantFlag(c, 'since')),
  };
}
