import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { AppError } from '../../platform/errors';
import { configIssues, PluginManifest, type PluginTableSpec } from './plugin-manifest';
import { compareVersions } from './plugin-version';

/** Body of POST /api/v1/plugins/:id/upgrade. */
export const UpgradePluginBody = z.object({
  manifest: PluginManifest,
  /** Replaces the kept config; without it the current config is kept (new keys take the new defaults). */
  config: z.record(z.string(), z.unknown()).optional(),
  /** Drop the tables the new version no longer declares (their rows are lost); by default they are kept. */
  dropRemovedTables: z.boolean().default(false),
});
export type UpgradePluginBody = z.output<typeof UpgradePluginBody>;

/** What an upgrade changes; computed from the installed and the new manifest before anything is written. */
export interface PluginUpgradePlan {
  fromVersion: string;
  toVersion: string;
  /** The config the new version runs with. */
  config: Record<string, unknown>;
  tablesToCreate: PluginTableSpec[];
  /** Tables the new manifest no longer declares: dropped after the upgrade only when asked. */
  tablesRemoved: string[];
  toolsRemoved: string[];
}

/**
 * Checks that `next` may replace `current` and says how. Throws UNPROCESSABLE for another
 * plugin's manifest, for a kept table whose definition changed (tables are not migrated) and for
 * a config the new schema refuses; CONFLICT when `next` is not a newer version.
 */
export function planPluginUpgrade(
  current: { manifest: PluginManifest; config: Record<string, unknown> },
  next: PluginManifest,
  { config }: { config?: Record<string, unknown> } = {},
): PluginUpgradePlan {
  const from = current.manifest;
  if (next.id !== from.id) throw new AppError('UNPROCESSABLE', `the manifest is of plugin '${next.id}', not '${from.id}'`, { pluginId: from.id, manifestId: next.id });
  if (compareVersions(next.version, from.version) <= 0) {
    throw new AppError('CONFLICT', `plugin '${from.id}' is at ${from.version}: an upgrade needs a newer version than ${next.version}`, { installed: from.version, requested: next.version });
  }
  const oldTables = new Map(from.tables.map((t) => [t.name, t]));
  const changed = next.tables.filter((t) => oldTables.has(t.name) && !isDeepStrictEqual(oldTables.get(t.name), t)).map((t) => t.name);
  if (changed.length > 0) {
    throw new AppError('UNPROCESSABLE', `plugin tables cannot change in place (${changed.join(', ')}): keep their definition, or add a table under a new name`, { tables: changed });
  }
  const nextConfig = config ?? { ...next.config.defaults, ...current.config };
  const issues = configIssues(next, nextConfig);
  if (issues.length > 0) throw new AppError('UNPROCESSABLE', `the ${config ? 'given' : 'current'} config does not match the schema of ${from.id} ${next.version}`, { issues });
  const nextTables = new Set(next.tables.map((t) => t.name));
  const nextTools = new Set(next.tools.map((t) => t.name));
  return {
    fromVersion: from.version,
    toVersion: next.version,
    config: nextConfig,
    tablesToCreate: next.tables.filter((t) => !oldTables.has(t.name)),
    tablesRemoved: from.tables.filter((t) => !nextTables.has(t.name)).map((t) => t.name),
    toolsRemoved: from.tools.filter((t) => !nextTools.has(t.name)).map((t) => t.name),
  };
}

/** The installed version of a plugin, from its row, as planPluginUpgrade takes it. */
export const installedVersion = (row: { manifest: unknown; config: unknown }) => ({
  manifest: PluginManifest.parse(row.manifest),
  config: z.record(z.string(), z.unknown()).parse(row.config ?? {}),
});
