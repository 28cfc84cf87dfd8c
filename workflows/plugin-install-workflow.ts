import { ApplicationFailure, CancellationScope, proxyLocalActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { PluginActivities } from '../activities/plugins/plugin-activities';
import type { PluginInstallInput, PluginInstallResult, PluginInstallStep } from './plugin-types';
import { OwnPilotKind, OwnPilotPluginId, OwnPilotStartedBy } from './search-attributes';

// Every step is a short database call in the worker that runs the workflow: local activities
// (recorded as markers in the history) save a server round trip per step.
const ACTIVITY_PRESETS = {
  step: { startToCloseTimeout: '1 minute', retry: { maximumAttempts: 5, initialInterval: '500 milliseconds' } },
  compensation: { startToCloseTimeout: '1 minute', retry: { maximumAttempts: 10, initialInterval: '1 second' } },
} as const;

const steps = proxyLocalActivities<PluginActivities>(ACTIVITY_PRESETS.step);
const undo = proxyLocalActivities<PluginActivities>(ACTIVITY_PRESETS.compensation);

const reasonOf = (error: unknown): string =>
  error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);

/**
 * Installs a plugin as a saga: validate → record → tables → tools → subscriptions → activate.
 * When a step fails, every completed step is undone newest-first (even if the workflow is
 * cancelled), the plugin is left in `error` with the reason, and the workflow fails.
 */
export async function pluginInstallWorkflow(input: PluginInstallInput): Promise<PluginInstallResult> {
  const { workflowId } = workflowInfo();
  const pluginId = input.manifest.id;
  upsertSearchAttributes([
    { key: OwnPilotPluginId, value: pluginId },
    { key: OwnPilotKind, value: 'plugin-install' },
    { key: OwnPilotStartedBy, value: input.requestedBy },
  ]);
  const compensations: { what: string; run: () => Promise<unknown> }[] = [];
  const result: PluginInstallResult = { pluginId, status: 'enabled', tables: [], tools: [], subscriptions: 0 };
  let step: PluginInstallStep = 'validate';
  try {
    const manifest = await steps.validatePluginManifest(input.manifest);
    step = 'record';
    await steps.recordPlugin({ manifest, workflowId });
    step = 'tables';
    for (const table of manifest.tables) {
      const created = await steps.createPluginTable({ pluginId, table });
      result.tables.push(created.table);
      if (created.created) compensations.push({ what: `drop table ${created.table}`, run: () => undo.dropPluginTable({ pluginId, name: table.name }) });
    }
    step = 'tools';
    for (const tool of manifest.tools) {
      result.tools.push(await steps.registerPluginTool({ pluginId, tool }));
      compensations.push({ what: `unregister tool ${tool.name}`, run: () => undo.unregisterPluginTool({ pluginId, tool: tool.name }) });
    }
    step = 'subscriptions';
    compensations.push({ what: 'remove subscriptions', run: () => undo.removePluginSubscriptions({ pluginId }) });
    result.subscriptions = await steps.recordPluginSubscriptions({ pluginId, subscriptions: manifest.subscriptions });
    step = 'activate';
    await steps.activatePlugin({ pluginId, workflowId });
    return result;
  } catch (error) {
    const reason = reasonOf(error);
    const failedCompensations: string[] = [];
    await CancellationScope.nonCancellable(async () => {
      for (const compensation of [...compensations].reverse()) {
        try {
          await compensation.run();
        } catch (undoError) {
          failedCompensations.push(`${compensation.what}: ${reasonOf(undoError)}`);
        }
      }
      const suffix = failedCompensations.length > 0 ? ` (undo failed: ${failedCompensations.join('; ')})` : '';
      await undo.markPluginFailed({ pluginId, workflowId, step, reason: reason + suffix, manifest: input.manifest });
    });
    throw ApplicationFailure.create({ type: 'PluginInstallFailed', message: `install of '${pluginId}' failed at ${step}: ${reason}`, details: [{ step, failedCompensations }], nonRetryable: true });
  }
}
