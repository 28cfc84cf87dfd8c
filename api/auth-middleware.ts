import type { Request, RequestHandler } from 'express';
import type { ApiKeyService } from '../activities/auth/api-key-service';
import { principalKind, type PrincipalKind } from '../activities/auth/principal';
import { AppError } from '../platform/errors';
import { principalOf } from './validate';

/** Paths under the guarded prefix that authenticate otherwise (webhooks carry a signature). */
const UNGUARDED = [/^\/webhooks(\/|$)/];

/**
 * A plugin's key acts only while its plugin is enabled: otherwise it may only read its own plugin
 * (to see its status). A key of a plugin that is not installed is left to the routes' own checks.
 */
function refusePluginNotEnabled(req: Pick<Request, 'method' | 'path'>, principal: string, pluginStatus: string | undefined): void {
  if (pluginStatus === undefined || pluginStatus === 'enabled') return;
  const pluginId = principal.slice('plugin:'.length);
  if (req.method === 'GET' && req.path === `/plugins/${pluginId}`) return;
  throw new AppError('FORBIDDEN', `plugin '${pluginId}' is ${pluginStatus}: its key may only read its own plugin until it is enabled`, { pluginId, status: pluginStatus });
}

/** The key a request was authenticated with, and how to ask again whether it would still pass. */
export interface KeyCheck {
  keyId: string;
  /** Throws what the middleware would throw now for this request (UNAUTHENTICATED, FORBIDDEN). */
  check(): Promise<void>;
}

/** Requires `Authorization: Bearer <key>` on every request it guards; sets the request's principal. */
export function authMiddleware(keys: Pick<ApiKeyService, 'authenticate'>): RequestHandler {
  return async (req, _res, next) => {
    if (UNGUARDED.some((pattern) => pattern.test(req.path))) return next();
    const header = req.header('authorization');
    const bearer = header === undefined ? undefined : /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
    // Captured now: Express rewrites req.path while the request passes through mounted routers.
    const target = { method: req.method, path: req.path };
    const { keyId, principal, pluginStatus } = await keys.authenticate(bearer);
    refusePluginNotEnabled(target, principal, pluginStatus);
    const keyCheck: KeyCheck = {
      keyId,
      async check() {
        const now = await keys.authenticate(bearer);
        refusePluginNotEnabled(target, now.principal, now.pluginStatus);
      },
    };
    Object.assign(req, { principal, keyCheck });
    next();
  };
}

/** The key check of an authenticated request (set by the auth middleware); UNAUTHENTICATED when none. */
export function keyCheckOf(req: Request): KeyCheck {
  const keyCheck = (req as Request & { keyCheck?: KeyCheck }).keyCheck;
  if (keyCheck === undefined) throw new AppError('UNAUTHENTICATED', 'this request is not authenticated');
  return keyCheck;
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
