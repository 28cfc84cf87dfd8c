import type { PrismaClient } from '../../platform/database';
import { pluginTableName } from '../acl/table-ddl';
import { publicErrorText } from '../../platform/error-text';
import { AppError, notFound } from '../../platform/errors';
import { asJson } from '../../platform/json';
import type { PluginUpgradeStep, SettledPluginStatus } from '../../workflows/plugin-types';
import { permanentFailures } from '../activity-failure';
import type { EventBus } from '../events/event-bus';
import { createPluginActivities, runEventId, type PluginActivityDeps } from './plugin-activities';
import { parseValidManifest, PluginManifest, pluginToolName } from './plugin-manifest';
import type { PluginToolRegistry } from './plugin-ports';
import { installedVersion, planPluginUpgrade, type PluginUpgradePlan } from './plugin-upgrade-plan';

export interface PluginUpgradeActivityDeps extends PluginActivityDeps {
  prisma: PrismaClient;
  events: Pick<EventBus, 'emitAsync'>;
  pluginTools: PluginActivityDeps['pluginTools'] & Pick<PluginToolRegistry, 'enableTool' | 'disableTool'>;
}

/** What the upgrade workflow works from: the new manifest, the plan, and the version to restore on failure. */
export interface PreparedPluginUpgrade {
  manifest: PluginManifest;
  plan: PluginUpgradePlan;
  previous: { manifest: PluginManifest; config: Record<string, unknown> };
  /**
   * Tables the new version declares that an earlier version of the plugin left behind (kept when
   * it stopped declaring them): created again as a no-op, never dropped by a compensation.
   */
  tablesLeftBehind: string[];
}

const SOURCE = 'plugin-service';
type Owner = { pluginId: string; workflowId: string };
/** The claim's memory of what it took over, forgotten once the workflow gives the plugin back itself. */
const CLAIM_OVER = { upgradeFromStatus: null, upgradeFromWorkflowId: null };

/**
 * Activities of the plugin upgrade workflow. Every write is conditional on the row being this
 * run's (`workflowId`, status `upgrading`), so a run can never change a plugin another workflow holds.
 * Install's steps (tables, tools, subscriptions) are reused as they are.
 */
export function createPluginUpgradeActivities(deps: PluginUpgradeActivityDeps) {
  const { prisma, events, pluginTools, pluginTables } = deps;
  const install = createPluginActivities(deps);
  /** Writes the plugin's row if this run holds it (also after it switched the status back to `settled`); INVALID_STATE otherwise. */
  const writeOwned = async ({ pluginId, workflowId }: Owner, data: Parameters<PrismaClient['plugin']['updateMany']>[0]['data'], settled?: SettledPluginStatus) => {
    const status = settled ? { in: ['upgrading', settled] } : 'upgrading';
    const { count } = await prisma.plugin.updateMany({ where: { id: pluginId, workflowId, status }, data: { ...data, updatedAt: new Date() } });
    if (count === 0) throw new AppError('INVALID_STATE', `plugin '${pluginId}' is no longer being upgraded by ${workflowId}`, { pluginId, workflowId });
  };
  /** Turns the tools of the manifest now recorded on or off as the plugin's status says (a disabled plugin's new tools start disabled). */
  const matchToolsTo = async (pluginId: string, status: SettledPluginStatus) => {
    const row = await prisma.plugin.findUnique({ where: { id: pluginId }, select: { manifest: true } });
    if (!row) throw notFound('plugin', pluginId);
    for (const tool of PluginManifest.parse(row.manifest).tools) {
      const name = pluginToolName(pluginId, tool.name);
      await (status === 'disabled' ? pluginTools.disableTool(name, `plugin:${pluginId}`) : pluginTools.enableTool(name, `plugin:${pluginId}`));
    }
  };

  return {
    /**
     * Checks that this run holds the plugin and that the new manifest may replace the installed
     * one (planPluginUpgrade's errors, final); returns what the workflow needs, nothing written.
     */
    preparePluginUpgrade: ({ pluginId, workflowId, manifest: input, config }: Owner & { manifest: unknown; config?: Record<string, unknown> }): Promise<PreparedPluginUpgrade> =>
      permanentFailures(async () => {
        const row = await prisma.plugin.findUnique({ where: { id: pluginId } });
        if (!row) throw notFound('plugin', pluginId);
        if (row.status !== 'upgrading' || row.workflowId !== workflowId) throw new AppError('INVALID_STATE', `plugin '${pluginId}' is ${row.status}, not being upgraded by ${workflowId}`, { status: row.status });
        const manifest = parseValidManifest(input);
        const previous = installedVersion(row);
        const plan = planPluginUpgrade(previous, manifest, { config });
        const tablesLeftBehind: string[] = [];
        for (const { name } of plan.tablesToCreate) {
          if ((await pluginTables.getTableMetadata(pluginTableName(pluginId, name)))?.ownerId === `plugin:${pluginId}`) tablesLeftBehind.push(name);
        }
        return { manifest, plan, previous, tablesLeftBehind };
      }),

    /** Records the new manifest and config (the tool step reads the manifest for the subscription-handler marks). */
    recordPluginUpgrade: ({ pluginId, workflowId, manifest, config }: Owner & { manifest: PluginManifest; config: Record<string, unknown> }): Promise<void> =>
      permanentFailures(() => writeOwned({ pluginId, workflowId }, { manifest: asJson(manifest), config: asJson(config) })),

    /**
     * Undoes the record, tools and subscriptions steps, whichever of them ran: the previous
     * manifest and config recorded again, the tools the new version added unregistered, every
     * previous tool registered again as it was, the previous subscriptions recorded. Idempotent.
     */
    restorePluginVersion: ({ pluginId, workflowId, previous, added, settled }: Owner & { previous: PreparedPluginUpgrade['previous']; added: string[]; settled: SettledPluginStatus }): Promise<void> =>
      permanentFailures(async () => {
        await writeOwned({ pluginId, workflowId }, { manifest: asJson(previous.manifest), config: asJson(previous.config) }, settled);
        for (const tool of added) await install.unregisterPluginTool({ pluginId, tool });
        for (const tool of previous.manifest.tools) await install.registerPluginTool({ pluginId, tool });
        await install.recordPluginSubscriptions({ pluginId, subscriptions: previous.manifest.subscriptions });
      }),

    /** Returns the plugin to its status before the upgrade (its tools to match) and emits plugin.upgraded. */
    completePluginUpgrade: ({ pluginId, workflowId, settled, fromVersion, toVersion }: Owner & { settled: SettledPluginStatus; fromVersion: string; toVersion: string }): Promise<void> =>
      permanentFailures(async () => {
        await matchToolsTo(pluginId, settled);
        await writeOwned({ pluginId, workflowId }, { status: settled, errorMessage: null, ...CLAIM_OVER }, settled);
        await events.emitAsync('plugin.upgraded', { pluginId, fromVersion, toVersion }, SOURCE, { id: runEventId('upgraded'), until: 'committed' });
      }),

    /**
     * Ends a failed upgrade after its compensations: the plugin is back in its previous status
     * (its tools to match) with `upgrade to <version> failed at <step>: <reason>` as its error
     * message; a plugin this run does not hold is left alone. Emits plugin.upgrade_failed.
     */
    markPluginUpgradeFailed: ({ pluginId, workflowId, settled, step, reason, toVersion }: Owner & { settled: SettledPluginStatus; step: PluginUpgradeStep; reason: string; toVersion: string }): Promise<void> =>
      permanentFailures(async () => {
        const errorMessage = `upgrade to ${toVersion} failed at ${step}: ${publicErrorText(reason)}`.slice(0, 4000);
        const row = await prisma.plugin.findUnique({ where: { id: pluginId }, select: { status: true, workflowId: true } });
        if (row?.workflowId === workflowId && (row.status === 'upgrading' || row.status === settled)) {
          await matchToolsTo(pluginId, settled);
          await writeOwned({ pluginId, workflowId }, { status: settled, errorMessage, ...CLAIM_OVER }, settled);
        }
        await events.emitAsync('plugin.upgrade_failed', { pluginId, toVersion, step, error: errorMessage }, SOURCE, { id: runEventId('upgrade_failed'), until: 'committed' });
      }),
  };
}
export type PluginUpgradeActivities = ReturnType<typeof createPluginUpgradeActivities>;
