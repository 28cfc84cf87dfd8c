import { ApplicationFailure, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { createCompensations, forward, reasonOf, steps, undo } from './plugin-saga';
import type { PluginUpgradeInput, PluginUpgradeResult, PluginUpgradeStep } from './plugin-types';
import { OwnPilotKind, OwnPilotPluginId, OwnPilotStartedBy } from './search-attributes';

/**
 * Upgrades an installed plugin in place, as a saga: prepare (check the new manifest against the
 * installed one) → create the new tables → record the new manifest and config → unregister the
 * removed tools and register the new and changed ones → record the subscriptions → back to the
 * status it had, `plugin.upgraded`. Storage, config and table rows are kept. When a step fails,
 * the tables it created are dropped and the previous version is restored exactly (manifest,
 * config, tools, subscriptions, status), `plugin.upgrade_failed` is emitted and the workflow
 * fails. Only after success, and only when asked, are the tables the new version dropped removed.
 */
export async function pluginUpgradeWorkflow(input: PluginUpgradeInput): Promise<PluginUpgradeResult> {
  const { workflowId } = workflowInfo();
  const { pluginId, settled } = input;
  upsertSearchAttributes([
    { key: OwnPilotPluginId, value: pluginId },
    { key: OwnPilotKind, value: 'plugin-upgrade' },
    { key: OwnPilotStartedBy, value: input.requestedBy },
  ]);
  const owner = { pluginId, workflowId };
  const compensations = createCompensations();
  let step: PluginUpgradeStep = 'prepare';
  try {
    const { manifest, plan, previous, tablesLeftBehind } = await steps.preparePluginUpgrade({ ...owner, manifest: input.manifest, config: input.config });
    step = 'tables';
    const tablesCreated: string[] = [];
    for (const table of plan.tablesToCreate) {
      tablesCreated.push((await steps.createPluginTable({ pluginId, table })).table);
      // a table an earlier version left behind holds that version's rows: never dropped here
      if (!tablesLeftBehind.includes(table.name)) compensations.add(`drop table ${table.name}`, () => undo.dropPluginTable({ pluginId, name: table.name }));
    }
    step = 'record';
    // One undo for the record, tools and subscriptions steps: it records the previous manifest
    // first, so the previous tools are registered again with their own subscription-handler marks.
    const previousTools = new Set(previous.manifest.tools.map((t) => t.name));
    const added = manifest.tools.filter((t) => !previousTools.has(t.name)).map((t) => t.name);
    compensations.add(`restore version ${plan.fromVersion}`, () => undo.restorePluginVersion({ ...owner, previous, added, settled }));
    await steps.recordPluginUpgrade({ ...owner, manifest, config: plan.config });
    step = 'tools';
    for (const tool of plan.toolsRemoved) await steps.unregisterPluginTool({ pluginId, tool });
    const tools: string[] = [];
    for (const tool of manifest.tools) tools.push(await steps.registerPluginTool({ pluginId, tool }));
    step = 'subscriptions';
    const subscriptions = await steps.recordPluginSubscriptions({ pluginId, subscriptions: manifest.subscriptions });
    step = 'activate';
    await steps.completePluginUpgrade({ ...owner, settled, fromVersion: plan.fromVersion, toVersion: plan.toVersion });
    const tablesDropped: string[] = [];
    if (input.dropRemovedTables) {
      for (const name of plan.tablesRemoved) tablesDropped.push((await forward.dropPluginTable({ pluginId, name })).table);
    }
    return { pluginId, fromVersion: plan.fromVersion, toVersion: plan.toVersion, tablesCreated, tablesDropped, toolsRemoved: plan.toolsRemoved, tools, subscriptions };
  } catch (error) {
    const reason = reasonOf(error);
    const failedCompensations = await compensations.run((failed) => {
      const suffix = failed.length > 0 ? ` (undo failed: ${failed.join('; ')})` : '';
      return undo.markPluginUpgradeFailed({ ...owner, settled, step, reason: reason + suffix, toVersion: input.manifest.version });
    });
    throw ApplicationFailure.create({ type: 'PluginUpgradeFailed', message: `upgrade of '${pluginId}' to ${input.manifest.version} failed at ${step}: ${reason}`, details: [{ step, failedCompensations }], nonRetryable: true });
  }
}
