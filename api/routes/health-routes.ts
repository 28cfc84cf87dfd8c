import { z } from 'zod';
import type { RouteGroup } from '../openapi/route-spec';

const Probe = z.object({ ok: z.boolean(), error: z.string().optional() });
const HealthResponse = z.object({
  status: z.enum(['ok', 'degraded']),
  postgres: Probe,
  temporal: Probe,
  workers: z.object({ ok: z.boolean(), polling: z.number().int().optional(), error: z.string().optional() }).optional(),
});

/** OpenAPI description of health-router.ts. */
export const healthRoutes: RouteGroup = {
  prefix: '/health',
  tag: 'system',
  description: 'Liveness, metrics and this description',
  routes: [
    {
      method: 'get', path: '/', summary: 'PostgreSQL and Temporal reachability; workers polling the task queue (status degraded when none, still 200)', auth: 'none',
      responses: { 200: { description: 'Both answer', schema: HealthResponse }, 503: { description: 'One does not (named, with its error)', schema: HealthResponse } },
    },
  ],
};
