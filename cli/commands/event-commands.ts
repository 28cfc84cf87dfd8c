import { intFlag, queryString, stringFlag, type Command } from './command-types';
import { eventLine, tailEvents, type Event } from './event-tail';
import { instantFlag } from './time-flags';

/** `ownpilot events ...`: the event bus as the API shows it to the caller. */
export function eventCommands(): Record<string, Command> {
  return {
    'events tail': (c) => tailEvents(c, stringFlag(c, 'type'), instantFlag(c, 'since')),
    // The next page's --cursor follows the lines: unlike an offset, events logged meanwhile do not shift it.
    'events history': async (c) => {
      const query = queryString({
        type: stringFlag(c, 'type'),
        category: stringFlag(c, 'category'),
        source: stringFlag(c, 'source'),
        from: instantFlag(c, 'from'),
        to: instantFlag(c, 'to'),
        order: stringFlag(c, 'order'),
        limit: intFlag(c, 'limit'),
        offset: intFlag(c, 'offset'),
        cursor: stringFlag(c, 'cursor'),
      });
      const page = await c.api.get<{ items: Event[]; nextCursor: string | null }>(`/api/v1/events${query}`);
      if (c.out.json) {
        c.out.write(`${JSON.stringify(page, null, 2)}\n`);
        return;
      }
      for (const event of page.items) c.out.write(eventLine(event, false));
      if (page.items.length === 0) c.out.write('(none)\n');
      if (page.nextCursor !== null) c.out.write(`more: --cursor '${page.nextCursor}' (with the same filters)\n`);
    },
  };
}
