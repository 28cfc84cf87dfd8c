import { z } from 'zod';
import { ListResourcesQuery, RESOURCE_FIELDS, ResourceId, ResourceTypeSchema } from '../../activities/resources/resource-definitions';
import type { RouteGroup } from '../openapi/route-spec';

const TypeParams = z.object({ resource: ResourceTypeSchema });
const RowParams = TypeParams.extend({ id: ResourceId });
const Fields = z.union(Object.values(RESOURCE_FIELDS)).describe('The fields of the resource type in the path');
const Row = z.looseObject({ id: z.string() });
const IdempotencyHeaders = z.object({ 'idempotency-key': z.string().min(1).max(200).optional() });

/** OpenAPI description of resources-router.ts. */
export const resourcesRoutes: RouteGroup = {
  prefix: '/api/v1/resources',
  tag: 'resources',
  description: 'The caller\'s tasks, notes, bookmarks, contacts, calendar events, memories and goals',
  routes: [
    { method: 'post', path: '/:resource', summary: 'Create a row', params: TypeParams, headers: IdempotencyHeaders, body: Fields, errors: [409, 422], responses: { 201: { description: 'Created', schema: Row } } },
    { method: 'get', path: '/:resource', summary: 'List the caller\'s rows', params: TypeParams, query: ListResourcesQuery, responses: { 200: { description: 'Rows', schema: z.object({ items: z.array(Row) }) } } },
    { method: 'get', path: '/:resource/:id', summary: 'One row', params: RowParams, errors: [404], responses: { 200: { description: 'The row', schema: Row } } },
    { method: 'patch', path: '/:resource/:id', summary: 'Change fields of a row', params: RowParams, body: z.record(z.string(), z.unknown()).describe('Any non-empty subset of the type\'s fields'), errors: [404, 422], responses: { 200: { description: 'The row', schema: Row } } },
    { method: 'delete', path: '/:resource/:id', summary: 'Delete a row', params: RowParams, errors: [404], responses: { 200: { description: 'The deleted row', schema: Row } } },
  ],
};
