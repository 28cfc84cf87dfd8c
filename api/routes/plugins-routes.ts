import { z } from 'zod';
import { ListPluginsQuery, PluginIdParams, PluginStorageKeyParams, StorageValueBody, PluginForceQuery, UpdateConfigBody } from '../../activities/plugins/plugin-api-schemas';
import { PluginManifest } from '../../activities/plugins/plugin-manifest';
import { PLUGIN_STATUSES } from '../../activities/plugins/plugin-service';
import { StorageListQuery } from '../../activities/plugins/plugin-storage';
import { UpgradePluginBody } from '../../activities/plugins/plugin-upgrade-plan';
import { Timestamp, type RouteGroup } from '../openapi/route-spec';

/** The manifest as it was submitted (the install body's schema; fields left to their defaults may be absent). */
const StoredManifest = z.looseObject({ id: z.string(), name: z.string(), version: z.string() }).describe('The manifest as submitted: see the body of POST /api/v1/plugins');
/** A plugins row. */
const Plugin = z.object({
  id: z.string(), manifest: StoredManifest, status: z.enum(PLUGIN_STATUSES), config: z.record(z.string(), z.unknown()).optional().describe('Validated by the manifest\'s config schema; shown only to admin and the plugin itself, as it may hold credentials'),
  errorMessage: z.string().nullable(), workflowId: z.string().nullable().describe('The last install/upgrade/uninstall workflow'), installedAt: Timestamp, updatedAt: Timestamp,
});
/** One plugin with its event subscriptions. */
const PluginDetail = Plugin.extend({
  subscriptions: z.array(z.object({ id: z.string(), pluginId: z.string(), eventPattern: z.string(), toolName: z.string().nullable(), createdAt: Timestamp })),
});
const Started = z.object({ pluginId: z.string(), workflowId: z.string() });
const UpgradeStarted = Started.extend({ fromVersion: z.string(), toVersion: z.string() });

/** OpenAPI description of plugins-router.ts. */
export const pluginsRoutes: RouteGroup = {
  prefix: '/api/v1/plugins',
  tag: 'plugins',
  description: 'Plugins: install/upgrade/uninstall (Temporal workflows), enable/disable, config, scoped storage',
  routes: [
    { method: 'post', path: '/', summary: 'Install a plugin from its manifest (a workflow; compensated on failure)', auth: 'admin', body: PluginManifest, errors: [403, 409, 422], responses: { 202: { description: 'Install started', schema: Started } } },
    { method: 'get', path: '/', summary: 'Installed plugins (a plugin sees only itself)', query: ListPluginsQuery, responses: { 200: { description: 'Plugins', schema: z.array(Plugin) } } },
    { method: 'get', path: '/:id', summary: 'One plugin', params: PluginIdParams, errors: [403, 404], responses: { 200: { description: 'The plugin', schema: PluginDetail } } },
    { method: 'delete', path: '/:id', summary: 'Uninstall (a workflow); 409 while saved triggers or plans use its tools, unless force=true', auth: 'admin', params: PluginIdParams, query: PluginForceQuery, errors: [403, 404, 409], responses: { 202: { description: 'Uninstall started', schema: Started } } },
    {
      method: 'post', path: '/:id/upgrade', auth: 'admin', params: PluginIdParams, query: PluginForceQuery, body: UpgradePluginBody, errors: [403, 404, 409, 422],
      summary: 'Upgrade in place to a newer version (a workflow; the previous version is restored on failure). Storage, config and table rows are kept; 409 while the plugin is busy, for a version that is not newer, or while saved triggers or plans use a tool it removes (unless force=true); 422 for a changed table or a config the new schema refuses',
      responses: { 202: { description: 'Upgrade started', schema: UpgradeStarted } },
    },
    { method: 'post', path: '/:id/enable', summary: 'Enable', auth: 'admin', params: PluginIdParams, errors: [403, 404, 409], responses: { 200: { description: 'The plugin', schema: PluginDetail } } },
    { method: 'post', path: '/:id/disable', summary: 'Disable', auth: 'admin', params: PluginIdParams, errors: [403, 404, 409], responses: { 200: { description: 'The plugin', schema: PluginDetail } } },
    { method: 'put', path: '/:id/config', summary: 'Replace the plugin\'s config (validated by its manifest)', auth: 'admin', params: PluginIdParams, body: UpdateConfigBody, errors: [403, 404, 409, 422], responses: { 200: { description: 'The plugin', schema: PluginDetail } } },
    { method: 'get', path: '/:id/storage', summary: 'List stored keys and values', params: PluginIdParams, query: StorageListQuery, errors: [403, 404], responses: { 200: { description: 'Entries', schema: z.array(z.object({ key: z.string(), value: z.unknown() })) } } },
    { method: 'delete', path: '/:id/storage', summary: 'Clear the plugin\'s storage', params: PluginIdParams, errors: [403, 404], responses: { 200: { description: 'How many were removed', schema: z.object({ cleared: z.number().int() }) } } },
    { method: 'get', path: '/:id/storage/:key', summary: 'One stored value', params: PluginStorageKeyParams, errors: [403, 404], responses: { 200: { description: 'The value', schema: z.object({ key: z.string(), value: z.unknown() }) } } },
    { method: 'put', path: '/:id/storage/:key', summary: 'Store a value', params: PluginStorageKeyParams, body: StorageValueBody, errors: [403, 404, 409, 413, 422], responses: { 204: { description: 'Stored' } } },
    { method: 'delete', path: '/:id/storage/:key', summary: 'Remove a value', params: PluginStorageKeyParams, errors: [403, 404], responses: { 204: { description: 'Removed' } } },
  ],
};
