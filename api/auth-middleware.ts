import type { Request, RequestHandler } from 'express';
import type { ApiKeyService } from '../activities/auth/api-key-service';
import { principalKind, type PrincipalKind } from '../activities/auth/principal';
import { AppError } from '../platform/errors';
import { principalOf } from './validate';

/** Paths under the guarded prefix that authenticate otherwise (webhooks carry a signature). */
const UNGUARDED = [/^\/webhooks(\/|$)/];

/** Requires `Authorization: Bearer <key>` on every request it guards; sets the request's principal. */
export function authMiddleware(keys: Pick<ApiKeyService, 'authenticate'>): RequestHandler {
  return async (req, _res, next) => {
    if (UNGUARDED.some((pattern) => pattern.test(req.path))) return next();
    const header = req.header('authorization');
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    const { principal } = await keys.authenticate(match?.[1]);
    (req as Request & { principal?: string }).principal = principal;
    next();
  };
}

/** Lets the request through only when its principal is of one of `kinds`; else FORBIDDEN. */
export function requirePrincipal(...kinds: PrincipalKind[]): RequestHandler {
  return (req, _res, next) => {
    const kind = principalKind(principalOf(req));
    if (kind === undefined || !kinds.includes(kind)) {
      throw new AppError('FORBIDDEN', `this route is for ${kinds.join(' or ')} principals only`);
    }
    next();
  };
}

/** Lets only the admin principal through. */
export const requireAdmin: RequestHandler = requirePrincipal('admin');
