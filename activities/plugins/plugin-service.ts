import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { PrismaClient } from '../../platform/database';
import { AppError, notFound } from '../../platform/errors';
import { asJson } from '../../platform/json';
import { createKeyedSerializer } from '../../platform/keyed-serializer';
import { pluginInstallWorkflowId, pluginUninstallWorkflowId, type PluginInstallInput, type PluginUninstallInput } from '../../workflows/plugin-types';
import type { EventBus } from '../events/event-bus';
import { configIssues, manifestIssues, PluginManifest, pluginToolName } from './plugin-manifest';
import { createPluginEmitGrant } from './plugin-emit-grant';
import type { PluginToolRegistry } from './plugin-ports';
import { createPluginStorage } from './plugin-storage';
import { findPluginToolUsers } from './plugin-tool-users';

export interface PluginServiceDeps {
  prisma: PrismaClient;
  temporal: Pick<Client, 'workflow'>;
  taskQueue: string;
  events: Pick<EventBus, 'emitAsync'>;
  pluginTools: Pick<PluginToolRegistry, 'enableTool' | 'disableTool'>;
}

export const PLUGIN_STATUSES = ['installing', 'installed', 'enabled', 'disabled', 'uninstalling', 'error'] as const;
export type PluginStatus = (typeof PLUGIN_STATUSES)[number];

const SOURCE = 'plugin-service';
const SETTLED = ['installed', 'enabled', 'disabled'];
/** Advisory-lock class (with the plugin id's hash) under which one enable/disable of a plugin runs at a time. */
const LIFECYCLE_LOCK_CLASS = 727004;
/** How long an enable/disable may hold that lock while it switches the plugin's tools. */
const LIFECYCLE_TIMEOUT_MS = 30_000;

/** The plugin service (seed §4): lifecycle through Temporal workflows, state, config and scoped storage. */
export function createPluginService({ prisma, temporal, taskQueue, events, pluginTools }: PluginServiceDeps) {
  const lifecycleQueue = createKeyedSerializer();
  const requirePlugin = async (pluginId: string) => {
    const plugin = await prisma.plugin.findUnique({ where: { id: pluginId }, include: { subscriptions: { orderBy: { id: 'asc' } } } });
    if (!plugin) throw notFound('plugin', pluginId);
    return plugin;
  };
  const manifestOf = (plugin: { manifest: unknown }) => PluginManifest.parse(plugin.manifest);
  /** Why a conditional write to the plugin's row matched nothing: NOT_FOUND (thrown) when it is gone, else INVALID_STATE naming its status. */
  const notWritableNow = async (pluginId: string) => {
    const plugin = await requirePlugin(pluginId);
    return new AppError('INVALID_STATE', `plugin '${pluginId}' is ${plugin.status}`, { status: plugin.status });
  };

  const setEnabled = async (pluginId: string, enabled: boolean) => {
    const plugin = await requirePlugin(pluginId);
    if (!SETTLED.includes(plugin.status)) throw new AppError('INVALID_STATE', `plugin '${pluginId}' is ${plugin.status}`, { status: plugin.status });
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
      const manifest = PluginManifest.parse(manifestInput);
      const issues = manifestIssues(manifest);
      if (issues.length > 0) throw new AppError('UNPROCESSABLE', `manifest of '${manifest.id}' is inconsistent`, { issues });
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
     * Starts workflow `plugin-uninstall-<id>`; NOT_FOUND when absent, INVALID_STATE while installing,
     * CONFLICT (naming them) while saved triggers or plans use its tools, unless `force`.
     */
    async uninstall(pluginId: string, requestedBy: string, { force = false }: { force?: boolean } = {}) {
      const plugin = await requirePlugin(pluginId);
      if (plugin.status === 'installing') throw new AppError('INVALID_STATE', `plugin '${pluginId}' is still being installed`);
      if (!force) {
        const users = await findPluginToolUsers(prisma, pluginId);
        if (users.triggers.length + users.plans.length > 0) {
          throw new AppError('CONFLICT', `plugin '${pluginId}' has tools that ${users.triggers.length} trigger(s) and ${users.plans.length} plan(s) use; change or delete them, or pass force=true`, users);
        }
      }
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

    /** Enables the plugin's tools and subscriptions; INVALID_STATE unless installed/enabled/disabled. */
    enable: (pluginId: string) => setEnabled(pluginId, true),

    /** Disables them: its tools refuse to run and its subscriptions receive nothing. */
    disable: (pluginId: string) => setEnabled(pluginId, false),

    /** Replaces the config after validating it against the manifest's schema (UNPROCESSABLE with the issues). */
    async updateConfig(pluginId: string, config: Record<string, unknown>) {
      const plugin = await requirePlugin(pluginId);
      const issues = configIssues(manifestOf(plugin), config);
      if (issues.length > 0) throw new AppError('UNPROCESSABLE', `config does not match the schema of '${pluginId}'`, { issues });
      // Not on a plugin whose uninstall began (or ended) since the read above.
      const { count } = await prisma.plugin.updateMany({ where: { id: pluginId, status: { not: 'uninstalling' } }, data: { config: asJson(config), updatedAt: new Date() } });
      if (count === 0) throw await notWritableNow(pluginId);
      await events.emitAsync('plugin.config_updated', { pluginId }, SOURCE, { until: 'committed' });
      return requirePlugin(pluginId);
    },

    /** One plugin with its subscriptions; NOT_FOUND when absent. */
    getPlugin: requirePlugin,

    /** Every plugin, optionally of one status, by id. */
    listPlugins(status?: PluginStatus) {
      return prisma.plugin.findMany({ where: status ? { status } : {}, orderBy: { id: 'asc' } });
    },

    /** Whether the plugin may emit now: enabled, and its manifest grants `events.emit`. */
    mayEmit: createPluginEmitGrant(prisma),

    /** The plugin's own key-value storage (every operation is bound to this id). */
    getStorage: (pluginId: string) => createPluginStorage(prisma, pluginId),
  };
}
export type PluginService = ReturnType<typeof createPluginService>;
