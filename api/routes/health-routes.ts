import { z } from 'zod';
import type { RouteGroup } from '../openapi/route-spec';

const Probe = z.object({ ok: z.boolean(), error: z.string().optional() });
const HealthResponse = z.object({ status: z.enum(['ok', 'degraded']), postgres: Probe, temporal: Probe });

/** OpenAPI description of health-router.ts. */
export const healthRoutes: RouteGroup = {
  prefix: '/health',
  tag: 'system',
  description: 'Liveness, metrics and this description',
  routes: [
    {
      method: 'get', path: '/', summary: 'PostgreSQL and Temporal reachability', auth: 'none',
      responses: { 200: { description: 'Both answer', schema: HealthResponse }, 503: { description: 'One does not (named, with its error)', schema: HealthResponse } },
    },
  ],
};
