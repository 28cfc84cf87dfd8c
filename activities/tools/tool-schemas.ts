import { z } from 'zod';
import { ToolDefinition, ToolName, ToolSource } from './tool-types';

/** Largest custom or plugin tool source accepted. */
export const MAX_TOOL_CODE_BYTES = 64 * 1024;

const JsonSchemaObject = z.record(z.string(), z.unknown());
const ToolCode = z.string().min(1).refine((c) => Buffer.byteLength(c) <= MAX_TOOL_CODE_BYTES, `code exceeds ${MAX_TOOL_CODE_BYTES} bytes`);
const AllowedTools = z.array(ToolName).max(50).default([]);

/** A user's custom tool: stored as `custom.<name>`, its code the body of `async (args, tools) => { ... }`. */
export const CustomToolDefinition = z.object({
  name: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'lower-case letters, digits and _; registered as custom.<name>'),
  description: z.string().min(1).max(2000),
  category: z.string().min(1).max(100).default('custom'),
  tags: z.array(z.string().min(1).max(50)).max(20).default([]),
  parameters: JsonSchemaObject.default({ type: 'object' }),
  code: ToolCode,
  requiresApproval: z.boolean().default(true),
  allowedTools: AllowedTools,
});
export type CustomToolDefinition = z.input<typeof CustomToolDefinition>;

/** Changes to a custom tool (its name is fixed); absent fields stay as they are (no defaults). */
export const CustomToolPatch = z
  .object({
    description: z.string().min(1).max(2000),
    category: z.string().min(1).max(100),
    tags: z.array(z.string().min(1).max(50)).max(20),
    parameters: JsonSchemaObject,
    code: ToolCode,
    requiresApproval: z.boolean(),
    allowedTools: z.array(ToolName).max(50),
    isEnabled: z.boolean(),
  })
  .partial()
  .strict();
export type CustomToolPatch = z.input<typeof CustomToolPatch>;

/** A plugin's sandboxed tool: the name must be `plugin.<pluginId>.<...>`. */
export const PluginToolOptions = z.object({
  requiresApproval: z.boolean().default(false),
  allowedTools: AllowedTools,
});
export type PluginToolOptions = z.input<typeof PluginToolOptions>;

export const PluginId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lower-case plugin id');
export { ToolDefinition, ToolCode };

/** Search filters; each given filter must match (case-insensitive substring; tags: every tag present). */
export const ToolFilters = z.object({
  name: z.string().max(200).optional(),
  description: z.string().max(200).optional(),
  category: z.string().max(100).optional(),
  tags: z.array(z.string().max(50)).max(20).optional(),
  source: ToolSource.optional(),
  enabled: z.boolean().optional(),
});
export type ToolFilters = z.infer<typeof ToolFilters>;
