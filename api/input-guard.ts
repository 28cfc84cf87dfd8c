import type { RequestHandler } from 'express';
import { AppError } from '../platform/errors';

/** Where a NUL character was found in a request, or null when there is none (walks the body without recursion). */
function nulIn(value: unknown, root: string): string | null {
  const stack: [unknown, string][] = [[value, root]];
  while (stack.length > 0) {
    const [node, where] = stack.pop()!;
    if (typeof node === 'string') {
      if (node.includes('\u0000')) return where;
    } else if (node !== null && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) {
        if (key.includes('\u0000')) return `${where} key`;
        stack.push([child, `${where}.${key}`.slice(0, 200)]);
      }
    }
  }
  return null;
}

/**
 * Refuses (400 VALIDATION_FAILED) any request with a NUL character in its path, query or JSON
 * body: PostgreSQL cannot store one in text or jsonb, so it would otherwise fail deep inside.
 */
export const rejectNulCharacters: RequestHandler = (req, _res, next) => {
  if (/%00/.test(req.path)) throw new AppError('VALIDATION_FAILED', 'the path contains a NUL character', { where: 'path' });
  const where = nulIn(req.query, 'query') ?? nulIn(req.body, 'body');
  if (where !== null) throw new AppError('VALIDATION_FAILED', 'the request contains a NUL character', { where });
  next();
};
