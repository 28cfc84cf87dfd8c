import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { Metrics } from './metrics';

/** Whether an Authorization header carries `token` (always true when no token is configured). */
export function metricsAuthorized(header: string | undefined, token: string | undefined): boolean {
  if (token === undefined) return true;
  const expected = Buffer.from(`Bearer ${token}`);
  const given = Buffer.from(header ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Serves GET /metrics on host:port (the worker's exporter); 401 without the token when one is
 * set, 404 elsewhere. Resolves once listening; `close()` stops it.
 */
export async function startMetricsServer(metrics: Pick<Metrics, 'scrape'>, options: { host: string; port: number; token?: string }) {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    if (!metricsAuthorized(req.headers.authorization, options.token)) {
      res.writeHead(401).end();
      return;
    }
    metrics.scrape().then(
      ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    /** Stops accepting and closes idle keep-alive sockets. */
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    }),
  };
}
