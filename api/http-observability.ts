import type { Request, RequestHandler } from 'express';
import type { Logger } from '../platform/logger';
import type { Metrics } from '../platform/observability/metrics';
import { metricsAuthorized } from '../platform/observability/metrics-endpoint';

/**
 * The route template a request matched (`/api/v1/plans/:id`), or 'unmatched', so label values stay
 * bounded. Express restores `baseUrl` when a router exits, so the mount prefix is recovered as the
 * request path minus as many trailing segments as the matched route pattern has.
 */
function routeOf(req: Request): string {
  const pattern = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof pattern !== 'string') return 'unmatched';
  const segments = (req.originalUrl.split('?')[0] ?? '').split('/').filter(Boolean);
  const own = pattern.split('/').filter(Boolean);
  const prefix = segments.slice(0, Math.max(0, segments.length - own.length));
  return `/${[...prefix, ...own].join('/')}`;
}

/**
 * Counts and times every request by method, route template and status, and writes one JSON
 * log line per request with its request id and principal (never headers or bodies).
 */
export function httpObservability(logger: Logger, metrics?: Pick<Metrics, 'counter' | 'histogram'>): RequestHandler {
  const requests = metrics?.counter('ownpilot_http_requests_total', 'HTTP requests by method, route and status', ['method', 'route', 'status']);
  const durations = metrics?.histogram('ownpilot_http_request_duration_seconds', 'HTTP request duration by method, route and status', ['method', 'route', 'status']);
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    logger.debug({ requestId: res.getHeader('x-request-id'), method: req.method }, 'request started');
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const labels = { method: req.method, route: routeOf(req), status: String(res.statusCode) };
      requests?.inc(labels);
      durations?.observe(labels, seconds);
      logger.info({
        requestId: res.getHeader('x-request-id'),
        principal: (req as Request & { principal?: string }).principal,
        method: req.method,
        route: labels.route,
        status: res.statusCode,
        durationMs: Math.round(seconds * 1000),
      }, 'request');
    });
    next();
  };
}

/** GET /metrics: the process's Prometheus exposition; 401 unless `Bearer <token>` when a token is set. */
export function metricsHandler(metrics: Pick<Metrics, 'scrape'>, token: string | undefined): RequestHandler {
  return async (req, res) => {
    if (!metricsAuthorized(req.header('authorization'), token)) {
      res.status(401).json({ error: { code: 'UNAUTHENTICATED', message: 'metrics need the metrics token', details: null } });
      return;
    }
    const { contentType, body } = await metrics.scrape();
    res.type(contentType).send(body);
  };
}
