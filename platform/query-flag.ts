import { z } from 'zod';

/** A yes/no query-string parameter: exactly `true` or `false` (anything else is a 400), as a boolean. */
export const QueryFlag = z.enum(['true', 'false']).transform((value) => value === 'true');
