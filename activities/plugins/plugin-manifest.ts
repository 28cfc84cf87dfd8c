import { z } from 'zod';
import { AppError } from '../../platform/errors';
import { EventPattern } from '../events/event-pattern';

/** A plugin id: usable in table names (`plugin_<id>_<t>`), tool names (`plugin.<id>.<t>`) and event types. */
export const PluginId = z.string().regex(/^[a-z][a-z0-9_]{1,30}$/, 'lower-case letters, digits and _, 2–31 characters, starting with a letter');

/** A tool's or table's name inside its plugin. */
const LocalName = z.string().regex(/^[a-z][a-z0-9_]{0,30}$/, 'lower-case letters, digits and _, starting with a letter');

/** What a plugin may ask for; each manifest part needs its permission (checked by `checkManifest`). */
export const PluginPermission = z.enum(['tools', 'tables', 'events.subscribe', 'events.emit', 'storage']);
export type PluginPermission = z.infer<typeof PluginPermission>;

/** A sandboxed tool, registered as `plugin.<pluginId>.<name>`; `code` is the body of `async (args, tools) => {...}`. */
export const PluginToolSpec = z.object({
  name: LocalName,
  description: z.string().min(1).max(2000),
  category: z.string().min(1).max(100).default('plugin'),
  parameters: z.record(z.string(), z.unknown()).default({ type: 'object' }),
  code: z.string().min(1).max(64 * 1024),
  /** Other tools the code may call through `tools.call` (e.g. core.db.query). */
  allowedTools: z.array(z.string().min(1).max(200)).max(50).default([]),
});
export type PluginToolSpec = z.infer<typeof PluginToolSpec>;

/** Run `tool` (one of the plugin's own tools) with `{ event }` for every event matching `pattern`. */
export const PluginSubscriptionSpec = z.object({ pattern: EventPattern, tool: LocalName });
export type PluginSubscriptionSpec = z.infer<typeof PluginSubscriptionSpec>;

/** A protected table from a column spec; the database ACL validates the columns and creates it as `plugin_<id>_<name>`. */
export const PluginTableSpec = z.looseObject({
  name: LocalName,
  columns: z.array(z.looseObject({ name: z.string().min(1), type: z.string().min(1) })).min(1).max(100),
});
export type PluginTableSpec = z.infer<typeof PluginTableSpec>;

/** The plugin manifest (seed §4): what a plugin is, asks for and brings. */
export const PluginManifest = z.object({
  id: PluginId,
  name: z.string().min(1).max(200),
  version: z.string().regex(/^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/, 'semantic version such as 1.0.0'),
  description: z.string().max(2000).default(''),
  author: z.string().max(200).default(''),
  permissions: z.array(PluginPermission).default([]),
  tools: z.array(PluginToolSpec).max(50).default([]),
  subscriptions: z.array(PluginSubscriptionSpec).max(50).default([]),
  tables: z.array(PluginTableSpec).max(20).default([]),
  config: z
    .object({
      /** A JSON schema (type object) the plugin's config must satisfy. */
      schema: z.record(z.string(), z.unknown()).default({ type: 'object' }),
      defaults: z.record(z.string(), z.unknown()).default({}),
    })
    .default({ schema: { type: 'object' }, defaults: {} }),
});
export type PluginManifestInput = z.input<typeof PluginManifest>;
export type PluginManifest = z.output<typeof PluginManifest>;

/** The registered name of a plugin's tool. */
export function pluginToolName(pluginId: string, tool: string): string {
  return `plugin.${pluginId}.${tool}`;
}

/** Validates a plugin config against the manifest's JSON schema; returns the issues (empty when valid). */
export function configIssues(manifest: PluginManifest, config: Record<string, unknown>): { path: string; message: string }[] {
  let schema: z.ZodType;
  try {
    schema = z.fromJSONSchema(manifest.config.schema as Parameters<typeof z.fromJSONSchema>[0]);
  } catch (error) {
    return [{ path: '/config/schema', message: `not a usable JSON schema: ${(error as Error).message}` }];
  }
  const result = schema.safeParse(config);
  return result.success ? [] : result.error.issues.map((i) => ({ path: `/${i.path.map(String).join('/')}`, message: i.message }));
}

/**
 * The checks zod cannot express: unique tool and table names, subscriptions naming the plugin's
 * own tools, no tool calling another plugin's tools, permissions covering what the manifest uses,
 * defaults satisfying the config schema.
 * Returns the issues; empty means the manifest may be installed.
 */
export function manifestIssues(manifest: PluginManifest): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  const dupes = (names: string[], what: string, path: string) =>
    names.forEach((n, i) => names.indexOf(n) !== i && issues.push({ path: `/${path}/${i}/name`, message: `${what} '${n}' is declared twice` }));
  dupes(manifest.tools.map((t) => t.name), 'tool', 'tools');
  dupes(manifest.tables.map((t) => t.name), 'table', 'tables');
  const tools = new Set(manifest.tools.map((t) => t.name));
  manifest.subscriptions.forEach((s, i) => {
    if (!tools.has(s.tool)) issues.push({ path: `/subscriptions/${i}/tool`, message: `subscription names tool '${s.tool}', which the manifest does not declare` });
  });
  manifest.tools.forEach((t, i) =>
    t.allowedTools.forEach((name, j) => {
      // plugins are isolated: a call to another plugin's tool would be refused at run time anyway
      if (name.startsWith('plugin.') && !name.startsWith(`plugin.${manifest.id}.`)) issues.push({ path: `/tools/${i}/allowedTools/${j}`, message: `'${name}' is another plugin's tool` });
    }),
  );
  const need = (permission: PluginPermission, used: boolean, what: string) => {
    if (used && !manifest.permissions.includes(permission)) issues.push({ path: '/permissions', message: `${what} need the '${permission}' permission` });
  };
  need('tools', manifest.tools.length > 0, 'tools');
  need('tables', manifest.tables.length > 0, 'tables');
  need('events.subscribe', manifest.subscriptions.length > 0, 'subscriptions');
  need('events.emit', manifest.tools.some((t) => t.allowedTools.includes('core.events.emit')), 'tools calling core.events.emit');
  issues.push(...configIssues(manifest, manifest.config.defaults).map((i) => ({ path: `/config/defaults${i.path === '/' ? '' : i.path}`, message: i.message })));
  return issues;
}

/** Parses a submitted manifest (ZodError → VALIDATION_FAILED) and checks it as a whole (UNPROCESSABLE with the issues). */
export function parseValidManifest(input: unknown): PluginManifest {
  const manifest = PluginManifest.parse(input);
  const issues = manifestIssues(manifest);
  if (issues.length > 0) throw new AppError('UNPROCESSABLE', `manifest of '${manifest.id}' is inconsistent`, { issues });
  return manifest;
}
