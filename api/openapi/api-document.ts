import { version } from '../../package.json';
import { API_ROUTE_GROUPS } from './api-routes';
import { buildOpenApiDocument, type OpenApiDocument } from './openapi-document';

let cached: OpenApiDocument | undefined;

/** The API's OpenAPI document, built once from the route specs' zod schemas. */
export function apiDocument(): OpenApiDocument {
  cached ??= buildOpenApiDocument(API_ROUTE_GROUPS, { version });
  return cached;
}
