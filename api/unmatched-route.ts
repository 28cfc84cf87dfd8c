import type { RequestHandler } from 'express';
import { AppError } from '../platform/errors';
import type { RouteGroup } from './openapi/route-spec';

/** `/api/v1/plans/:id/history` as a pattern over one request path (params are one segment; a trailing slash is allowed). */
function pathPattern(path: string): RegExp {
  const source = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:\w+/g, '[^/]+');
  return new RegExp(`^${source.replace(/\/$/, '')}/?$`);
}

/**
 * Answers a request no route took: 405 METHOD_NOT_ALLOWED with an `Allow` header when the path
 * is served under other methods (from the documented routes), else 404 NOT_FOUND.
 */
export function unmatchedRouteHandler(groups: readonly RouteGroup[]): RequestHandler {
  const routes = groups.flatMap((g) => g.routes.map((r) => ({ method: r.method.toUpperCase(), pattern: pathPattern(`${g.prefix}${r.path}`) })));
  return (req, res, next) => {
    const allowed = [...new Set(routes.filter((r) => r.pattern.test(req.path)).map((r) => r.method))].sort();
    if (allowed.length > 0 && !allowed.includes(req.method)) {
      res.setHeader('Allow', allowed.join(', '));
      next(new AppError('METHOD_NOT_ALLOWED', `${req.method} is not served on ${req.path}; use ${allowed.join(' or ')}`, { allowed }));
      return;
    }
    next(new AppError('NOT_FOUND', `no route for ${req.method} ${req.path}`));
  };
}
