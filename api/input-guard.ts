import type { RequestHandler } from 'express';
import { AppError } from '../platform/errors';

/** A NUL, or a UTF-16 surrogate without its pair (JSON may escape one alone: `"\\ud800"`). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const unstorable = (text: string) => text.includes('\u0000') || LONE_SURROGATE.test(text);

/** Where unstorable text was found in a request, or null when there is none (walks the body without recursion). */
function unstorableIn(value: unknown, root: string): string | null {
  const stack: [unknown, string][] = [[value, root]];
  while (stack.length > 0) {
    const [node, where] = stack.pop()!;
    if (typeof node === 'string') {
      if (unstorable(node)) return where;
    } else if (node !== null && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) {
        if (unstorable(key)) return `${where} key`;
        stack.push([child, `${where}.${key}`.slice(0, 200)]);
      }
    }
  }
  return null;
}

/**
 * Refuses (400 VALIDATION_FAILED) any request with a NUL character or a lone UTF-16 surrogate in
 * its path, query or JSON body: PostgreSQL can store neither in jsonb (nor NUL in text), so it
 * would otherwise fail deep inside with a 500.
 */
export const rejectUnstorableText: RequestHandler = (req, _res, next) => {
  if (/%00/.test(req.path)) throw new AppError('VALIDATION_FAILED', 'the path contains a NUL character', { where: 'path' });
  const where = unstorableIn(req.query, 'query') ?? unstorableIn(req.body, 'body');
  if (where !== null) throw new AppError('VALIDATION_FAILED', 'the request contains a NUL character or a lone UTF-16 surrogate', { where });
  next();
};
