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
function refusePluginNotEnabled(req: Request, principal: string, pluginStatus: string | undefined): void {
  if (pluginStatus === undefined || pluginStatus === 'enabled') return;
  const pluginId = principal.slice('plugin:'.length);
  if (req.method === 'GET' && req.path === `/plugins/${pluginId}`) return;
  throw new AppError('FORBIDDEN', `plugin '${pluginId}' is ${pluginStatus}: its key may only read its own plugin until it is enabled`, { pluginId, status: pluginStatus });
}

/** Requires `Authorization: Bearer <key>` on every request it guards; sets the request's principal. */
export function authMiddleware(keys: Pick<ApiKeyService, 'authenticate'>): RequestHandler {
  return async (req, _res, next) => {
    if (UNGUARDED.some((pattern) => pattern.test(req.path))) return next();
    const header = req.header('authorization');
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    const { principal, pluginStatus } = await keys.authenticate(match?.[1]);
    refusePluginNotEnabled(req, principal, pluginStatus);
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
