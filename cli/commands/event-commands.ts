import type { Command } from './command-types';
import { tailEvents } from './event-tail';

/** `ownpilot events ...`: the event bus as the API shows it to the caller. */
export function eventCommands(): Record<string, Command> {
  return {
    'events tail': (c) => tailEvents(c, typeof c.flags.type === 'string' ? c.flags.type : undefined, typeof c.flags.since === 'string' ? c.flags.since : undefined),
  };
}
