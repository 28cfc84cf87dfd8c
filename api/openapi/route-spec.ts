import { z } from 'zod';

/** How a route authenticates: an API key (admin-only when `admin`), a webhook signature, a metrics token, or not at all. */
export type RouteAuth = 'bearer' | 'admin' | 'webhook-signature' | 'metrics-token' | 'none';

/** One documented response: its description and (for JSON bodies) the zod schema of what is sent. */
export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  /** Non-JSON bodies (e.g. Prometheus text). */
  contentType?: string;
}

/**
 * The OpenAPI description of one Express route, built from the zod schemas the route parses
 * with. `path` is relative to the router's mount point, in Express syntax (`/:id`).
 */
export interface RouteSpec {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  summary: string;
  auth?: RouteAuth;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  headers?: z.ZodObject;
  responses: Record<number, ResponseSpec>;
  /** Error statuses beyond the ones every route may answer (400 / 401 / 500). */
  errors?: number[];
}

/** A router's routes and the path it is mounted on. */
export interface RouteGroup {
  prefix: string;
  tag: string;
  description: string;
  routes: RouteSpec[];
}

/** The one error body every route answers failures with (api/error-middleware.ts). */
export const ErrorResponse = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.unknown(),
  }),
});

/** An ISO-8601 timestamp as it appears in JSON. */
export const Timestamp = z.iso.datetime();
