import type { ErrorRequestHandler, Request } from 'express';
import { ZodError } from 'zod';
import { isDatabaseUnavailable } from '../platform/database-errors';
import { AppError } from '../platform/errors';
import type { Logger } from '../platform/logger';

/** The one error body shape every route answers with. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/** Seconds a client is told to wait before retrying while PostgreSQL is unreachable. */
const DATABASE_RETRY_AFTER_SECONDS = 2;

/**
 * Why a request failed its schema, naming the cause when it sent a body that is not JSON: the JSON
 * parser skips any other content type (`curl -d` sends a form by default), so the route saw no body.
 */
function invalidRequestMessage(req: Request): string {
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (!hasBody || req.is('application/json') !== false) return 'request is invalid';
  const given = (req.headers['content-type'] ?? 'no content type').slice(0, 100);
  return `request is invalid: the body was sent as ${given}, not JSON; send it with content-type: application/json`;
}

/**
 * Maps AppError and ZodError to their status; a lost or refused PostgreSQL connection to 503
 * DATABASE_UNAVAILABLE with Retry-After; anything else is a 500 with a request id only.
 */
export function errorMiddleware(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    if (error instanceof AppError) {
      res.status(error.status).json({ error: { code: error.code, message: error.message, details: error.details ?? null } } satisfies ErrorBody);
      return;
    }
    if (error instanceof ZodError) {
      res.status(400).json({ error: { code: 'VALIDATION_FAILED', message: invalidRequestMessage(req), details: { issues: error.issues } } } satisfies ErrorBody);
      return;
    }
    // Express's body parser reports malformed JSON / oversized bodies with a status and a type.
    const status = typeof error?.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : undefined;
    if (status !== undefined) {
      const code = status === 413 ? 'PAYLOAD_TOO_LARGE' : 'VALIDATION_FAILED';
      res.status(status).json({ error: { code, message: String(error.message ?? 'bad request'), details: null } } satisfies ErrorBody);
      return;
    }
    const requestId = String(res.getHeader('x-request-id') ?? '');
    if (isDatabaseUnavailable(error)) {
      logger.warn({ requestId, path: req.path, error: error instanceof Error ? error.message : String(error) }, 'database unavailable');
      res.setHeader('retry-after', String(DATABASE_RETRY_AFTER_SECONDS));
      res.status(503).json({ error: { code: 'DATABASE_UNAVAILABLE', message: 'the database is unavailable; retry shortly', details: { requestId } } } satisfies ErrorBody);
      return;
    }
    logger.error({ err: error, requestId, path: req.path }, 'unhandled error');
    res.status(500).json({ error: { code: 'INTERNAL', message: 'internal error', details: { requestId } } } satisfies ErrorBody);
  };
}
