import { Context } from '@temporalio/activity';
import type { PrismaClient } from '../../platform/database';
import { publicErrorText } from '../../platform/error-text';
import { isUniqueViolation } from '../../platform/database-errors';
import { AppError, notFound } from '../../platform/errors';
import { asJson } from '../../platform/json';
import type { PluginInstallStep } from '../../workflows/plugin-types';
import { permanentFailures } from '../activity-failure';
import { revokeKeysOf } from '../auth/api-key-service';
import type { EventBus } from '../events/event-bus';
import { parseValidManifest, PluginId, PluginManifest, pluginToolName, type PluginTableSpec, type PluginToolSpec, type PluginSubscriptionSpec } from './plugin-manifest';
import type { PluginTableAcl, PluginToolRegistry } from './plugin-ports';

export interface PluginActivityDeps {
  prisma: PrismaClient;
  events: Pick<EventBus, 'emitAsync'>;
  pluginTools: Pick<PluginToolRegistry, 'registerPluginTool' | 'unregisterTool' | 'unregisterPluginTools'>;
  pluginTables: PluginTableAcl;
}

const SOURCE = 'plugin-service';
/** A plugin in one of these is another workflow's: an uninstall waits for it to end. */
const BUSY = ['installing', 'upgrading'];
/** An event id unique to this workflow run and purpose, so a retried activity emits once. */
export const runEventId = (purpose: string) => {
  const info = Context.current().info;
  return `${info.workflowExecution?.runId ?? info.activityId}/${purpose}`;
};

/** Activities of the plugin install and uninstall workflows: each step and its undo, all idempotent. */
export function createPluginActivities({ prisma, events, pluginTools, pluginTables }: PluginActivityDeps) {
  return {
    /** Parses the manifest and checks it as a whole; VALIDATION_FAILED / UNPROCESSABLE are final. */
    validatePluginManifest: (input: unknown): Promise<PluginManifest> =>
      permanentFailures(async () => parseValidManifest(input)),

    /** Records the plugin as `installing`; takes over a row left in `error`; CONFLICT when it exists otherwise. */
    recordPlugin: ({ manifest, workflowId }: { manifest: PluginManifest; workflowId: string }): Promise<void> =>
      permanentFailures(async () => {
        const now = new Date();
        const data = { manifest: asJson(manifest), status: 'installing', config: asJson(manifest.config.defaults), errorMessage: null, workflowId, installedAt: now, updatedAt: now };
        const { count } = await prisma.plugin.updateMany({ where: { id: manifest.id, OR: [{ status: 'error' }, { status: 'installing', workflowId }] }, data });
        if (count > 0) return;
        try {
          await prisma.plugin.create({ data: { id: manifest.id, ...data } });
        } catch (error) {
          if (isUniqueViolation(error)) throw new AppError('CONFLICT', `plugin '${manifest.id}' is already installed`, { pluginId: manifest.id });
          throw error;
        }
      }),

    /**
     * Creates one table through the ACL (CONFLICT when the name is taken otherwise). `created` tells
     * the workflow the table is this install's to undo, also when it already existed with this spec
     * and owner: left by this step's own earlier attempt whose reply was lost, or by an earlier
     * failed install of the plugin. No live plugin uses it: at this step the row is this install's.
     */
    createPluginTable: ({ pluginId, table }: { pluginId: string; table: PluginTableSpec }): Promise<{ table: string; created: true }> =>
      permanentFailures(async () => ({ table: (await pluginTables.createPluginTable(pluginId, table)).table, created: true })),

    /** Drops one of the plugin's tables; a missing table is a no-op. */
    dropPluginTable: ({ pluginId, name }: { pluginId: string; name: string }) => permanentFailures(() => pluginTables.dropPluginTable(pluginId, name)),

    /**
     * Registers one sandboxed tool as plugin.<id>.<name>, marked as a subscription handler when the
     * manifest recorded for this install subscribes it to events (read here, so the mark does not
     * depend on what the workflow passes).
     */
    registerPluginTool: ({ pluginId, tool }: { pluginId: string; tool: PluginToolSpec }): Promise<string> =>
      permanentFailures(async () => {
        const name = pluginToolName(pluginId, tool.name);
        const plugin = await prisma.plugin.findUnique({ where: { id: pluginId }, select: { manifest: true } });
        if (!plugin) throw notFound('plugin', pluginId);
        const handler = PluginManifest.parse(plugin.manifest).subscriptions.some((s) => s.tool === tool.name);
        await pluginTools.registerPluginTool(
          pluginId,
          { name, description: tool.description, category: tool.category, parameters: tool.parameters, tags: ['plugin', pluginId], ...(handler ? { subscriptionHandler: true as const } : {}) },
          tool.code,
          { allowedTools: tool.allowedTools },
        );
        return name;
      }),

    /** Unregisters one of the plugin's tools as the plugin itself; a missing tool is a no-op. */
    unregisterPluginTool: ({ pluginId, tool }: { pluginId: string; tool: string }): Promise<void> =>
      permanentFailures(async () => {
        try {
          await pluginTools.unregisterTool(pluginToolName(pluginId, tool), `plugin:${pluginId}`);
        } catch (error) {
          if (!(error instanceof AppError && error.code === 'NOT_FOUND')) throw error;
        }
      }),

    /** Records the subscriptions (replacing any earlier attempt's) in one transaction; CONFLICT for a duplicate. */
    recordPluginSubscriptions: ({ pluginId, subscriptions }: { pluginId: string; subscriptions: PluginSubscriptionSpec[] }): Promise<number> =>
      permanentFailures(async () => {
        try {
          await prisma.$transaction([
            prisma.pluginEventSubscription.deleteMany({ where: { pluginId } }),
            prisma.pluginEventSubscription.createMany({
              data: subscriptions.map((s, i) => ({ id: `${pluginId}:${i}`, pluginId, eventPattern: s.pattern, toolName: pluginToolName(pluginId, s.tool) })),
            }),
          ]);
        } catch (error) {
          if (isUniqueViolation(error)) throw new AppError('CONFLICT', `plugin '${pluginId}' declares the same subscription twice`, { pluginId });
          throw error;
        }
        return subscriptions.length;
      }),

    /** Removes the plugin's subscriptions; hosts drop them when they hear the next lifecycle event. */
    removePluginSubscriptions: ({ pluginId }: { pluginId: string }): Promise<number> =>
      permanentFailures(async () => (await prisma.pluginEventSubscription.deleteMany({ where: { pluginId } })).count),

    /** Marks the plugin enabled and announces it (every process then activates its subscriptions). */
    activatePlugin: ({ pluginId, workflowId }: { pluginId: string; workflowId: string }): Promise<void> =>
      permanentFailures(async () => {
        const { count } = await prisma.plugin.updateMany({ where: { id: pluginId, workflowId, status: { in: ['installing', 'enabled'] } }, data: { status: 'enabled', updatedAt: new Date() } });
        if (count === 0) throw new AppError('INVALID_STATE', `plugin '${pluginId}' is no longer being installed by ${workflowId}`);
        const version = ((await prisma.plugin.findUniqueOrThrow({ where: { id: pluginId } })).manifest as { version: string }).version;
        await events.emitAsync('plugin.installed', { pluginId, version }, SOURCE, { id: runEventId('installed'), until: 'committed' });
        await events.emitAsync('plugin.enabled', { pluginId }, SOURCE, { id: runEventId('enabled'), until: 'committed' });
      }),

    /**
     * Ends a failed install: the plugin is left in `error` with the reason (recorded now if
     * validation failed before the record step); a plugin another install owns is never touched.
     * Emits plugin.install_failed.
     */
    markPluginFailed: ({ pluginId, workflowId, step, reason, manifest }: { pluginId: string; workflowId: string; step: PluginInstallStep; reason: string; manifest: unknown }): Promise<void> =>
      permanentFailures(async () => {
        const errorMessage = `${step}: ${publicErrorText(reason)}`.slice(0, 4000);
        const now = new Date();
        // a failure at activate comes after this run recorded the row, which it may already have switched to `enabled`
        const ours = step === 'activate' ? { in: ['installing', 'enabled'] } : 'installing';
        const { count } = await prisma.plugin.updateMany({ where: { id: pluginId, workflowId, status: ours }, data: { status: 'error', errorMessage, updatedAt: now } });
        // failed before it was recorded (validation): record the attempt, unless the id is someone else's
        if (count === 0 && step === 'validate' && PluginId.safeParse(pluginId).success) {
          await prisma.plugin.createMany({ data: [{ id: pluginId, manifest: asJson(manifest), status: 'error', errorMessage, workflowId, installedAt: now, updatedAt: now }], skipDuplicates: true });
          await prisma.plugin.updateMany({ where: { id: pluginId, status: 'error' }, data: { manifest: asJson(manifest), errorMessage, workflowId, updatedAt: now } });
        }
        await events.emitAsync('plugin.install_failed', { pluginId, step, error: errorMessage }, SOURCE, { id: runEventId('failed'), until: 'committed' });
      }),

    /** Marks the plugin `uninstalling` (hosts stop delivering to it); NOT_FOUND when absent, INVALID_STATE while installing or upgrading. */
    beginPluginUninstall: ({ pluginId }: { pluginId: string }): Promise<void> =>
      permanentFailures(async () => {
        // conditional: an upgrade may have claimed the plugin since the API checked it
        const { count } = await prisma.plugin.updateMany({ where: { id: pluginId, status: { notIn: BUSY } }, data: { status: 'uninstalling', updatedAt: new Date() } });
        if (count === 0) {
          const plugin = await prisma.plugin.findUnique({ where: { id: pluginId }, select: { status: true } });
          if (!plugin) throw notFound('plugin', pluginId);
          throw new AppError('INVALID_STATE', `plugin '${pluginId}' is ${plugin.status}`, { status: plugin.status });
        }
        await events.emitAsync('plugin.disabled', { pluginId, reason: 'uninstalling' }, SOURCE, { id: runEventId('disabled'), until: 'committed' });
      }),

    /** Unregisters every tool of the plugin. */
    unregisterPluginTools: ({ pluginId }: { pluginId: string }) => permanentFailures(() => pluginTools.unregisterPluginTools(pluginId)),

    /** Drops every table the plugin owns. */
    dropPluginTables: ({ pluginId }: { pluginId: string }) => permanentFailures(() => pluginTables.dropPluginTables(pluginId)),

    /** Deletes every storage key of the plugin. */
    clearPluginStorage: ({ pluginId }: { pluginId: string }): Promise<number> => permanentFailures(async () => (await prisma.pluginStorage.deleteMany({ where: { pluginId } })).count),

    /**
     * Removes the plugin's row (subscriptions cascade) and revokes its keys in the same transaction
     * (a reinstall must not bring them back), then announces it.
     */
    deletePlugin: ({ pluginId }: { pluginId: string }): Promise<void> =>
      permanentFailures(async () => {
        await prisma.$transaction(async (tx) => {
          const { count } = await tx.plugin.deleteMany({ where: { id: pluginId, status: 'uninstalling' } });
          // The delete's trigger (migration 0018) notifies AUTH_CHANNEL with `plugin:<id>` at commit: caches drop these keys too.
          if (count > 0) await revokeKeysOf(tx, `plugin:${pluginId}`, new Date());
        });
        await events.emitAsync('plugin.uninstalled', { pluginId }, SOURCE, { id: runEventId('uninstalled'), until: 'committed' });
      }),
  };
}
export type PluginActivities = ReturnType<typeof createPluginActivities>;
