import { z } from 'zod';
import { AuditQuery, ColumnDefinition, CreateUserTableBody, GrantBody, QueryBody, TableNameParams } from '../../activities/acl/acl-schemas';
import { Timestamp, type RouteGroup } from '../openapi/route-spec';

const TableMetadata = z.object({
  name: z.string(), accessLevel: z.enum(['locked', 'protected', 'user']), ownerId: z.string().optional(),
  schema: z.union([
    z.object({ name: z.string(), columns: z.array(ColumnDefinition), indexes: z.array(z.array(z.string())) }).describe('The definition a plugin/user table was created from'),
    z.array(ColumnDefinition).max(0).describe('System tables: none'),
  ]),
  createdAt: Timestamp, isSystem: z.boolean(),
});
/** An acl_audit row. */
const AuditEntry = z.object({
  id: z.string(), requesterId: z.string(), action: z.enum(['query', 'create_table', 'drop_table', 'grant', 'revoke']), outcome: z.enum(['allowed', 'denied']),
  tableNames: z.array(z.string()), statement: z.string().nullable(), reason: z.string().nullable(), createdAt: Timestamp,
});

/** OpenAPI description of acl-router.ts. */
export const aclRoutes: RouteGroup = {
  prefix: '/api/v1/acl',
  tag: 'database',
  description: 'Database ACL: table metadata, user tables, grants, audit',
  routes: [
    { method: 'get', path: '/tables', summary: 'Tables the caller may read', responses: { 200: { description: 'Metadata by name', schema: z.object({ tables: z.array(TableMetadata) }) } } },
    { method: 'get', path: '/tables/:name', summary: 'One table\'s metadata (404 alike for a missing table and one the caller may not read)', params: TableNameParams, errors: [404], responses: { 200: { description: 'Metadata', schema: TableMetadata } } },
    {
      method: 'post', path: '/tables', summary: 'Create a user table owned by the caller (users and admin)', body: CreateUserTableBody, errors: [403, 409, 422],
      responses: { 201: { description: 'Created (or already there with the same spec)', schema: z.object({ table: z.string(), created: z.boolean() }) } },
    },
    { method: 'delete', path: '/tables/:name', summary: 'Drop a table the caller owns (404 alike for a missing table and one the caller may not read)', params: TableNameParams, errors: [403, 404], responses: { 200: { description: 'Dropped', schema: z.object({ table: z.string(), dropped: z.literal(true) }) } } },
    { method: 'post', path: '/tables/:name/grants', summary: 'Grant a privilege on an owned table (404 alike for a missing table and one the caller may not read; 409 when it was replaced meanwhile)', params: TableNameParams, body: GrantBody, errors: [403, 404, 409, 422], responses: { 204: { description: 'Granted' } } },
    { method: 'delete', path: '/tables/:name/grants', summary: 'Revoke a privilege on an owned table (404 alike for a missing table and one the caller may not read; 409 when it was replaced meanwhile)', params: TableNameParams, body: GrantBody, errors: [403, 404, 409, 422], responses: { 204: { description: 'Revoked' } } },
    { method: 'get', path: '/audit', summary: 'ACL audit trail (admin)', auth: 'admin', query: AuditQuery, responses: { 200: { description: 'Entries, newest first', schema: z.object({ entries: z.array(AuditEntry) }) } } },
  ],
};

/** OpenAPI description of db-router.ts. */
export const dbRoutes: RouteGroup = {
  prefix: '/api/v1/db',
  tag: 'database',
  description: 'Database ACL: table metadata, user tables, grants, audit',
  routes: [
    {
      method: 'post', path: '/query', summary: 'Run one SQL statement through the ACL as the caller (422 RESULT_TOO_LARGE past ACL_MAX_RESULT_BYTES)', body: QueryBody, errors: [403, 422],
      responses: {
        200: {
          description: 'Rows (at most the configured maximum; `truncated` says when more matched)',
          schema: z.object({ kind: z.string(), rowCount: z.number().int(), fields: z.array(z.string()), rows: z.array(z.record(z.string(), z.unknown())), truncated: z.boolean() }),
        },
      },
    },
  ],
};
