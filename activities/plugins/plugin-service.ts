import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { PrismaClient } from '../../platform/database';
import { AppError, notFound } from '../../platform/errors';
import { asJson } from '../../platform/json';
import { createKeyedSerializer } from '../../platform/keyed-serializer';
import { pluginInstallWorkflowId, pluginUninstallWorkflowId, pluginUpgradeWorkflowId, type PluginInstallInput, type PluginUninstallInput, type PluginUpgradeInput, type SettledPluginStatus } from '../../workflows/plugin-types';
import type { EventBus } from '../events/event-bus';
import { configIssues, parseValidManifest, PluginManifest, pluginToolName } from './plugin-manifest';
import { createPluginEmitGrant } from './plugin-emit-grant';
import type { PluginToolRegistry } from './plugin-ports';
import { createPluginStorage } from './plugin-storage';
import { findPluginToolUsers } from './plugin-tool-users';
import { createPluginUpgradeClaim } from './plugin-upgrade-claim';
import { installedVersion, planPluginUpgrade, UpgradePluginBody } from './plugin-upgrade-plan';

export interface PluginServiceDeps {
  prisma: PrismaClient;
  temporal: Pick<Client, 'workflow'>;
  taskQueue: string;
  events: Pick<EventBus, 'emitAsync'>;
  pluginTools: Pick<PluginToolRegistry, 'enableTool' | 'disableTool'>;
  /** How old an `upgrading` claim whose workflow does not exist must be before it is given back (default 60 s). */
  upgradeClaimGraceMs?: number;
}

export const PLUGIN_STATUSES = ['installing', 'installed', 'enabled', 'disabled', 'upgrading', 'uninstalling', 'error'] as const;
export type PluginStatus = (typeof PLUGIN_STATUSES)[number];

const SOURCE = 'plugin-service';
const SETTLED: SettledPluginStatus[] = ['installed', 'enabled', 'disabled'];
const isSettled = (status: string): status is SettledPluginStatus => (SETTLED as string[]).includes(status);
/** Advisory-lock class (with the plugin id's hash) under which one enable/disable of a plugin runs at a time. */
const LIFECYCLE_LOCK_CLASS = 727004;
/** How long an enable/disable may hold that lock while it switches the plugin's tools. */
const LIFECYCLE_TIMEOUT_MS = 30_000;
/** The claim's bookkeeping is no part of a plugin as the API shows it. */
const CLAIM_COLUMNS = { upgradeFromStatus: true, upgradeFromWorkflowId: true } as const;

/** The plugin service (seed §4): lifecycle through Temporal workflows, state, config and scoped storage. */
export function createPluginService({ prisma, temporal, taskQueue, events, pluginTools, upgradeClaimGraceMs }: PluginServiceDeps) {
  const lifecycleQueue = createKeyedSerializer();
  const upgradeClaim = createPluginUpgradeClaim({ prisma, temporal, graceMs: upgradeClaimGraceMs });
  const requirePlugin = async (pluginId: string) => {
    const plugin = await prisma.plugin.findUnique({ where: { id: pluginId }, include: { subscriptions: { orderBy: { id: 'asc' } } }, omit: CLAIM_COLUMNS });
    if (!plugin) throw notFound('plugin', pluginId);
    return plugin;
  };
  /** The plugin for a lifecycle change: an abandoned upgrade claim on it is given back first. */
  const pluginToChange = async (pluginId: string) => {
    const plugin = await requirePlugin(pluginId);
    return (await upgradeClaim.releaseIfAbandoned(plugin)) ? requirePlugin(pluginId) : plugin;
  };
  const manifestOf = (plugin: { manifest: unknown }) => PluginManifest.parse(plugin.manifest);
  /** Why a conditional write to the plugin's row matched nothing: NOT_FOUND (thrown) when it is gone, else INVALID_STATE naming its status. */
  const notWritableNow = async (pluginId: string) => {
    const plugin = await requirePlugin(pluginId);
    return new AppError('INVALID_STATE', `plugin '${pluginId}' is ${plugin.status}`, { status: plugin.status });
  };

  /** CONFLICT naming the saved triggers and plans that use the plugin's tools (or only `tools` of them): they would fail once those are gone. */
  const refuseToolsInUse = async (pluginId: string, tools?: string[]) => {
    const users = await findPluginToolUsers(prisma, pluginId, tools);
    if (users.triggers.length + users.plans.length === 0) return;
    const what = tools ? `tools the upgrade removes (${tools.join(', ')})` : 'tools';
    throw new AppError('CONFLICT', `plugin '${pluginId}' has ${what} that ${users.triggers.length} trigger(s) and ${users.plans.length} plan(s) use; change or delete them, or pass force=true`, { ...users, ...(tools ? { tools } : {}) });
  };

  const setEnabled = async (pluginId: string, enabled: boolean) => {
    const plugin = await pluginToChange(pluginId);
    if (!isSettled(plugin.status)) throw new AppError('INVALID_STATE', `plugin '${pluginId}' is ${plugin.status}`, { status: plugin.status });
    const tools = manifestOf(plugin).tools.map((t) => pluginToolName(pluginId, t.name));
    const principal = `plugin:${pluginId}`;
    // Only a settled plugin changes status: overwriting `uninstalling` would make the uninstall leave the row behind.
    const setStatus = async (status: 'enabled' | 'disabled') => {
      const { count } = await prisma.plugin.updateMany({ where: { id: pluginId, status: { in: SETTLED } }, data: { status, updatedAt: new Date() } });
      if (count === 0) throw await notWritableNow(pluginId);
    };
    // One enable/disable of a plugin at a time, in any process: interleaved, an enable could record
    // `enabled` after a disable had turned its tools off. The status is written outside the lock's
    // transaction so that it counts at once. Requests of this process queue here first, so that a
    // burst of them does not hold every pooled connection waiting for the lock.
    await lifecycleQueue.run(pluginId, () =>
      prisma.$transaction(
        async (tx) => {
          await tx.$executeRaw`SELECT pg_advisory_xact_lock(${LIFECYCLE_LOCK_CLASS}::int, hashtext(${pluginId}))`;
          // Disable: status first (deliveries stop at once), then tools. Enable: tools first, then status.
          if (!enabled) await setStatus('disabled');
          for (const tool of tools) await (enabled ? pluginTools.enableTool(tool, principal) : pluginTools.disableTool(tool, principal));
          if (enabled) await setStatus('enabled');
        },
        { timeout: LIFECYCLE_TIMEOUT_MS },
      ),
    );
    await events.emitAsync(enabled ? 'plugin.enabled' : 'plugin.disabled', { pluginId }, SOURCE, { until: 'committed' });
    return requirePlugin(pluginId);
  };

  return {
    /**
     * Validates the manifest (VALIDATION_FAILED / UNPROCESSABLE), refuses an installed id
     * (CONFLICT) and starts workflow `plugin-install-<id>`; returns at once with its id.
     */
    async install(manifestInput: unknown, requestedBy: string) {
      const manifest = parseValidManifest(manifestInput);
      const existing = await prisma.plugin.findUnique({ where: { id: manifest.id }, select: { status: true } });
      if (existing && existing.status !== 'error') throw new AppError('CONFLICT', `plugin '${manifest.id}' is ${existing.status}`, { pluginId: manifest.id, status: existing.status });
      const workflowId = pluginInstallWorkflowId(manifest.id);
      const input: PluginInstallInput = { manifest: manifestInput as PluginInstallInput['manifest'], requestedBy };
      try {
        await temporal.workflow.start('pluginInstallWorkflow', { taskQueue, workflowId, args: [input], staticSummary: `Install plugin ${manifest.id} ${manifest.version}` });
      } catch (error) {
        if (error instanceof WorkflowExecutionAlreadyStartedError) throw new AppError('CONFLICT', `plugin '${manifest.id}' is already being installed`, { workflowId });
        throw error;
      }
      return { pluginId: manifest.id, workflowId };
    },

    /**
     * Starts workflow `plugin-uninstall-<id>`; NOT_FOUND when absent, INVALID_STATE while installing or upgrading,
     * CONFLICT (naming them) while saved triggers or plans use its tools, unless `force`.
     */
    async uninstall(pluginId: string, requestedBy: string, { force = false }: { force?: boolean } = {}) {
      const plugin = await pluginToChange(pluginId);
      if (plugin.status === 'installing' || plugin.status === 'upgrading') throw new AppError('INVALID_STATE', `plugin '${pluginId}' is ${plugin.status}`, { status: plugin.status });
      if (!force) await refuseToolsInUse(pluginId);
      const workflowId = pluginUninstallWorkflowId(pluginId);
      const input: PluginUninstallInput = { pluginId, requestedBy };
      try {
        await temporal.workflow.start('pluginUninstallWorkflow', { taskQueue, workflowId, args: [input], staticSummary: `Uninstall plugin ${pluginId}` });
      } catch (error) {
        if (error instanceof WorkflowExecutionAlreadyStartedError) throw new AppError('CONFLICT', `plugin '${pluginId}' is already being uninstalled`, { workflowId });
        throw error;
      }
      return { pluginId, workflowId };
    },

    /**
     * Starts workflow `plugin-upgrade-<id>-<version>` after checking, before anything changes,
     * that the body's manifest may replace the installed one (planPluginUpgrade: UNPROCESSABLE,
     * CONFLICT for a version that is not newer) and, unless `force`, that no saved trigger or plan
     * uses a tool it removes (CONFLICT naming them). The plugin is claimed (`upgrading`) here, so a
     * concurrent install, upgrade, uninstall or enable/disable of it is refused (INVALID_STATE);
     * NOT_FOUND when absent. Every lifecycle change first gives back a claim whose workflow never
     * started (older than `upgradeClaimGraceMs`).
     */
    async upgrade(pluginId: string, bodyInput: unknown, requestedBy: string, { force = false }: { force?: boolean } = {}) {
      const body = UpgradePluginBody.parse(bodyInput);
      const manifest = parseValidManifest(body.manifest);
      const plugin = await pluginToChange(pluginId);
      const settled = plugin.status;
      if (!isSettled(settled)) throw new AppError('INVALID_STATE', `plugin '${pluginId}' is ${settled}`, { status: settled });
      const plan = planPluginUpgrade(installedVersion(plugin), manifest, { config: body.config });
      if (!force && plan.toolsRemoved.length > 0) await refuseToolsInUse(pluginId, plan.toolsRemoved);
      const workflowId = pluginUpgradeWorkflowId(pluginId, manifest.version);
      // Only one request moves the plugin out of the state it was checked in.
      if (!(await upgradeClaim.claim(plugin, settled, workflowId))) {
        const now = await notWritableNow(pluginId);
        if (!isSettled((now.details as { status: string }).status)) throw now;
        throw new AppError('CONFLICT', `plugin '${pluginId}' changed while this upgrade was checked; try again`, { pluginId });
      }
      const input: PluginUpgradeInput = { pluginId, manifest, config: body.config, dropRemovedTables: body.dropRemovedTables, settled, requestedBy };
      try {
        await temporal.workflow.start('pluginUpgradeWorkflow', { taskQueue, workflowId, args: [input], staticSummary: `Upgrade plugin ${pluginId} ${plan.fromVersion} → ${plan.toVersion}` });
      } catch (error) {
        await upgradeClaim.giveBack(pluginId, workflowId);
        if (error instanceof WorkflowExecutionAlreadyStartedError) throw new AppError('CONFLICT', `plugin '${pluginId}' is already being upgraded to ${manifest.version}`, { workflowId });
        throw error;
      }
      return { pluginId, workflowId, fromVersion: plan.fromVersion, toVersion: plan.toVersion };
    },

    /** Enables the plugin's tools and subscriptions; INVALID_STATE unless installed/enabled/disabled. */
    enable: (pluginId: string) => setEnabled(pluginId, true),

    /** Disables them: its tools refuse to run and its subscriptions receive nothing. */
    disable: (pluginId: string) => setEnabled(pluginId, false),

    /** Replaces the config after validating it against the manifest's schema (UNPROCESSABLE with the issues). */
    async updateConfig(pluginId: string, config: Record<string, unknown>) {
      const plugin = await pluginToChange(pluginId);
      const issues = configIssues(manifestOf(plugin), config);
      if (issues.length > 0) throw new AppError('UNPROCESSABLE', `config does not match the schema of '${pluginId}'`, { issues });
      // Not on a plugin whose uninstall or upgrade (which records its own config) began since the read above.
      const { count } = await prisma.plugin.updateMany({ where: { id: pluginId, status: { notIn: ['uninstalling', 'upgrading'] } }, data: { config: asJson(config), updatedAt: new Date() } });
      if (count === 0) throw await notWritableNow(pluginId);
      await events.emitAsync('plugin.config_updated', { pluginId }, SOURCE, { until: 'committed' });
      return requirePlugin(pluginId);
    },

    /** One plugin with its subscriptions; NOT_FOUND when absent. */
    getPlugin: requirePlugin,

    /** Every plugin, optionally of one status, by id. */
    listPlugins(status?: PluginStatus) {
      return prisma.plugin.findMany({ where: status ? { status } : {}, orderBy: { id: 'asc' }, omit: CLAIM_COLUMNS });
    },

    /** Whether the plugin may emit now: enabled, and its manifest grants `events.emit`. */
    mayEmit: createPluginEmitGrant(prisma),

    /** The plugin's own key-value storage (every operation is bound to this id). */
    getStorage: (pluginId: string) => createPluginStorage(prisma, pluginId),
  };
}
export type PluginService = ReturnType<typeof createPluginService>;
