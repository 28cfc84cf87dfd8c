import { z } from 'zod';
import { PluginId } from './plugin-manifest';
import { PLUGIN_STATUSES } from './plugin-service';
import { StorageKey } from './plugin-storage';
import { QueryFlag } from '../../platform/query-flag';

export const PluginIdParams = z.object({ id: PluginId });
export const PluginStorageKeyParams = z.object({ id: PluginId, key: StorageKey });
/** `force=true` uninstalls (or upgrades away tools) even when saved triggers or plans use the plugin's tools. */
export const PluginForceQuery = z.object({ force: QueryFlag.optional() });
export const ListPluginsQuery = z.object({ status: z.enum(PLUGIN_STATUSES).optional() });
export const UpdateConfigBody = z.object({ config: z.record(z.string(), z.unknown()) });
export const StorageValueBody = z.object({ value: z.unknown().refine((v) => v !== undefined, 'value is required') });
