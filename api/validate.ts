import type { Request } from 'express';
import type { z } from 'zod';
import { AppError } from '../platform/errors';

/** Parses one part of a request with its schema; a ZodError reaches the error middleware as a 400. */
export function parse<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  return schema.parse(value);
}

/** The authenticated principal of a request (set by the auth middleware); UNAUTHENTICATED when none. */
export function principalOf(req: Request): string {
  const principal = (req as Request & { principal?: string }).principal;
  if (principal === undefined) throw new AppError('UNAUTHENTICATED', 'this request is not authenticated');
  return principal;
}
