import { z } from 'zod';
import { ListResourcesQuery, RESOURCE_FIELDS, RESOURCE_STORAGE, RESOURCE_TYPES, ResourceId, type ResourceType, ResourceTypeSchema } from '../../activities/resources/resource-definitions';
import { Timestamp, type RouteGroup } from '../openapi/route-spec';

const TypeParams = z.object({ resource: ResourceTypeSchema });
const RowParams = TypeParams.extend({ id: ResourceId });
const Fields = z.union(Object.values(RESOURCE_FIELDS)).describe('The fields of the resource type in the path');
/** A stored row of one resource type: its fields (unset ones are null), dates as ISO strings, owner and timestamps. */
const rowOf = (type: ResourceType) => {
  const fields = Object.entries((RESOURCE_FIELDS[type] as z.ZodObject).shape).map(([name, schema]) => {
    const optional = schema instanceof z.ZodOptional;
    const base = RESOURCE_STORAGE[type].dateFields.includes(name) ? Timestamp : optional ? (schema.unwrap() as z.ZodType) : schema;
    return [name, optional ? base.nullable() : base] as const;
  });
  return z.object({ id: z.string(), ownerId: z.string(), ...Object.fromEntries(fields), createdAt: Timestamp, updatedAt: Timestamp });
};
const Row = z.union(RESOURCE_TYPES.map(rowOf)).describe('A row of the resource type in the path');
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
    { method: 'delete', path: '/:resource/:id', summary: 'Delete a row', params: RowParams, errors: [404], responses: { 200: { description: 'Deleted', schema: z.object({ id: z.string(), deleted: z.literal(true) }) } } },
  ],
};
