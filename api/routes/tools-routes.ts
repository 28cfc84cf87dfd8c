import { z } from 'zod';
import { CreateCustomToolBody, CustomToolIdParams, ExecuteToolBody, ListToolsQuery, ToolNameParams } from '../../activities/tools/tool-api-schemas';
import { CustomToolPatch } from '../../activities/tools/tool-schemas';
import { ToolDefinition, ToolSource } from '../../activities/tools/tool-types';
import { Timestamp, type RouteGroup } from '../openapi/route-spec';

const IdempotencyHeaders = z.object({ 'idempotency-key': z.string().min(1).max(200).optional().describe('Makes a retried call return the first result') });
/** A registry entry as callers see it (tool-types.ts ToolInfo: the record without its code). */
const ToolInfo = z.object({
  id: z.string(), name: z.string(), source: ToolSource, sourceId: z.string().nullable().describe('Owning user id (custom) or plugin id (plugin); null for built-ins'),
  definition: ToolDefinition, isEnabled: z.boolean(), isLocked: z.boolean(), requiresApproval: z.boolean(), allowedTools: z.array(z.string()), createdAt: Timestamp, updatedAt: Timestamp,
});
const ExecutionResult = z.union([
  z.object({ status: z.literal('completed'), tool: z.string(), output: z.unknown().describe('Whatever the tool returned'), durationMs: z.number() }),
  z.object({ status: z.literal('approval_required'), tool: z.string(), args: z.unknown().describe('The arguments as given'), reason: z.string() }),
]);
/** A custom_tools row (the owner sees the code). */
const CustomTool = z.object({
  id: z.string(), userId: z.string(), name: z.string(), description: z.string().nullable(), code: z.string(), parameters: z.record(z.string(), z.unknown()).nullable().describe('JSON Schema of the arguments'),
  requiresApproval: z.boolean(), isEnabled: z.boolean(), category: z.string(), tags: z.array(z.string()), allowedTools: z.array(z.string()), createdAt: Timestamp, updatedAt: Timestamp,
});

/** OpenAPI description of tools-router.ts. */
export const toolsRoutes: RouteGroup = {
  prefix: '/api/v1/tools',
  tag: 'tools',
  description: 'Tool registry: built-in, custom and plugin tools; search, enable/disable, execute',
  routes: [
    { method: 'get', path: '/', summary: 'Search tools the caller may see', query: ListToolsQuery, responses: { 200: { description: 'Matches, best first', schema: z.object({ tools: z.array(ToolInfo) }) } } },
    { method: 'get', path: '/:name', summary: 'One tool', params: ToolNameParams, errors: [404], responses: { 200: { description: 'The tool', schema: ToolInfo } } },
    { method: 'post', path: '/:name/enable', summary: 'Enable a tool', params: ToolNameParams, errors: [403, 404], responses: { 200: { description: 'The tool', schema: ToolInfo } } },
    { method: 'post', path: '/:name/disable', summary: 'Disable a tool', params: ToolNameParams, errors: [403, 404], responses: { 200: { description: 'The tool', schema: ToolInfo } } },
    { method: 'delete', path: '/:name', summary: 'Unregister a tool (not built-ins)', params: ToolNameParams, errors: [403, 404], responses: { 204: { description: 'Removed' } } },
    {
      method: 'post', path: '/:name/execute', summary: 'Execute a tool (arguments validated against its schema)', params: ToolNameParams, headers: IdempotencyHeaders, body: ExecuteToolBody, errors: [403, 404, 409, 422, 429],
      responses: { 200: { description: 'Completed', schema: ExecutionResult }, 202: { description: 'Approval required before it runs', schema: ExecutionResult } },
    },
  ],
};

/** OpenAPI description of custom-tools-router.ts. */
export const customToolsRoutes: RouteGroup = {
  prefix: '/api/v1/custom-tools',
  tag: 'tools',
  description: 'Tool registry: built-in, custom and plugin tools; search, enable/disable, execute',
  routes: [
    { method: 'post', path: '/', summary: 'Create a custom JavaScript tool (runs sandboxed)', body: CreateCustomToolBody, errors: [403, 409, 422], responses: { 201: { description: 'Created', schema: CustomTool } } },
    { method: 'get', path: '/', summary: 'The caller\'s custom tools (admin: all)', responses: { 200: { description: 'Custom tools', schema: z.object({ customTools: z.array(CustomTool) }) } } },
    { method: 'get', path: '/:id', summary: 'One custom tool', params: CustomToolIdParams, errors: [403, 404], responses: { 200: { description: 'The tool', schema: CustomTool } } },
    { method: 'patch', path: '/:id', summary: 'Change a custom tool', params: CustomToolIdParams, body: CustomToolPatch, errors: [403, 404, 422], responses: { 200: { description: 'The tool', schema: CustomTool } } },
    { method: 'delete', path: '/:id', summary: 'Delete a custom tool', params: CustomToolIdParams, errors: [403, 404], responses: { 204: { description: 'Deleted' } } },
  ],
};
