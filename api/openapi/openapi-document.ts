import { z } from 'zod';
import { ErrorResponse, type RouteAuth, type RouteGroup, type RouteSpec } from './route-spec';

type JsonSchema = Record<string, unknown>;

const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid params, query or body (`VALIDATION_FAILED` with zod issues in details)',
  401: 'Missing, unknown or revoked credentials (`UNAUTHENTICATED`)',
  403: 'The principal may not do this (`FORBIDDEN`)',
  404: 'Not found (`NOT_FOUND`)',
  409: 'Conflicts with the current state (`CONFLICT` / `INVALID_STATE`)',
  413: 'Body too large (`PAYLOAD_TOO_LARGE`)',
  422: 'Well-formed but not processable (`UNPROCESSABLE`)',
  429: 'Rate limited (`RATE_LIMITED`)',
  500: 'Internal error: details carry only the request id (`INTERNAL`)',
  503: 'PostgreSQL is unreachable for now; retry after the Retry-After seconds (`DATABASE_UNAVAILABLE`)',
};

/** The JSON Schema (2020-12, as OpenAPI 3.1 uses) of what a client sends (`input`) or receives (`output`). */
function toSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonSchema;
  delete json.$schema;
  return json;
}

/** `/:id` → `/{id}`, joined to the mount prefix without a trailing slash. */
export function openApiPath(prefix: string, path: string): string {
  const joined = `${prefix}${path === '/' ? '' : path}`.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
  return joined === '' ? '/' : joined;
}

function parameters(where: 'path' | 'query' | 'header', schema: z.ZodObject | undefined): JsonSchema[] {
  if (!schema) return [];
  const json = toSchema(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || (json.required ?? []).includes(name),
    schema: property,
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
  }));
}

function security(auth: RouteAuth): JsonSchema[] {
  if (auth === 'bearer' || auth === 'admin') return [{ apiKey: [] }];
  if (auth === 'metrics-token') return [{ metricsToken: [] }, {}];
  if (auth === 'webhook-signature') return [{ webhookSignature: [] }];
  return [];
}

function operation(group: RouteGroup, route: RouteSpec): JsonSchema {
  const auth = route.auth ?? 'bearer';
  const responses: Record<string, JsonSchema> = {};
  for (const [status, response] of Object.entries(route.responses)) {
    const contentType = response.contentType ?? 'application/json';
    responses[status] = {
      description: response.description,
      ...(response.schema || response.contentType
        ? { content: { [contentType]: { schema: response.schema ? toSchema(response.schema, 'output') : { type: 'string' } } } }
        : {}),
    };
  }
  const errorStatuses = new Set([500, 503, ...(route.errors ?? [])]);
  // 400 also for any method that may carry a body: the JSON parser refuses malformed ones before the route runs.
  if (route.params || route.query || route.body || route.method !== 'get') errorStatuses.add(400);
  if (auth === 'bearer' || auth === 'admin' || auth === 'metrics-token' || auth === 'webhook-signature') errorStatuses.add(401);
  if (auth === 'admin') errorStatuses.add(403);
  for (const status of [...errorStatuses].sort()) {
    responses[String(status)] ??= { description: ERROR_TEXT[status] ?? 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  }
  const notes = {
    admin: 'Requires an **admin** API key.',
    'webhook-signature': 'Authenticated by the HMAC signature headers, not by an API key.',
    'metrics-token': 'Needs `Authorization: Bearer <METRICS_TOKEN>` only when METRICS_TOKEN is set.',
    bearer: undefined,
    none: undefined,
  }[auth];
  return {
    tags: [group.tag],
    summary: route.summary,
    operationId: `${route.method}${openApiPath(group.prefix, route.path).replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
    ...(notes ? { description: notes } : {}),
    security: security(auth),
    'x-ownpilot-auth': auth,
    parameters: [...parameters('path', route.params), ...parameters('query', route.query), ...parameters('header', route.headers)],
    ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: toSchema(route.body, 'input') } } } } : {}),
    responses,
  };
}

/** The OpenAPI 3.1 document of every route group; throws if two specs claim the same method and path. */
export function buildOpenApiDocument(groups: readonly RouteGroup[], info: { version: string }) {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const group of groups) {
    for (const route of group.routes) {
      const path = openApiPath(group.prefix, route.path);
      paths[path] ??= {};
      if (paths[path]![route.method]) throw new Error(`OpenAPI: ${route.method.toUpperCase()} ${path} is described twice`);
      paths[path]![route.method] = operation(group, route);
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'OwnPilot Orchestrator API',
      version: info.version,
      description: 'Plans, triggers, plugins, tools, events and the database ACL. Send `Authorization: Bearer <API key>` on every /api/v1 route except webhooks. Errors are `{ "error": { "code", "message", "details" } }`.',
    },
    servers: [{ url: '/' }],
    tags: groups.map((g) => ({ name: g.tag, description: g.description })),
    paths,
    components: {
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'An OwnPilot API key (its principal is admin, user:ID or plugin:ID)' },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN, when configured' },
        webhookSignature: {
          type: 'apiKey', in: 'header', name: 'x-ownpilot-signature',
          description: '`sha256=` + hex HMAC-SHA256 of `<x-ownpilot-timestamp>.<raw body>` with the trigger\'s secret',
        },
      },
      schemas: { Error: toSchema(ErrorResponse, 'output') },
    },
  };
}
export type OpenApiDocument = ReturnType<typeof buildOpenApiDocument>;
