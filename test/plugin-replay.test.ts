import fs from 'node:fs';
import path from 'node:path';
import { createPluginService } from '../activities/plugins/plugin-service';
import { pluginInstallWorkflowId, pluginUninstallWorkflowId, pluginUpgradeWorkflowId } from '../workflows/plugin-types';
import { hasRecordedHistory, recordedHistoryFiles, replayRecordedHistories, writeRecordedHistory } from './support/replay';
import { openTestStack } from './support/test-stack';

// Recorded histories of plugin installs (success, and failures with compensation: at the tables
// step and at the final activate step), upgrades (success, and a failure at the final activate
// step that restores the previous version) and an uninstall, replayed against the current workflow
// code so a change that breaks determinism fails `npm test`. Record the histories that have no
// file yet with: RECORD_PLUGIN_HISTORIES=1 npx jest test/plugin-replay.test.ts (existing files are
// kept; =overwrite replaces them).
const DIR = path.join(__dirname, 'replay-histories', 'plugins');
const RECORD = process.env.RECORD_PLUGIN_HISTORIES === '1' || process.env.RECORD_PLUGIN_HISTORIES === 'overwrite';
const OVERWRITE = process.env.RECORD_PLUGIN_HISTORIES === 'overwrite';

const manifest = (id: string, tables: { name: string }[]) => ({
  id,
  name: id,
  version: '1.0.0',
  permissions: ['tools', 'tables', 'events.subscribe'],
  tables: tables.map((t) => ({ ...t, columns: [{ name: 'a', type: 'text' }] })),
  tools: [{ name: 'noop', description: 'does nothing', parameters: { type: 'object', properties: { event: { type: 'object' } } }, code: 'return null;' }],
  subscriptions: [{ pattern: 'agent.*', tool: 'noop' }],
});

describe('plugin workflow determinism', () => {
  (RECORD ? test : test.skip)('records representative histories', async () => {
    const stack = await openTestStack();
    try {
      await stack.startWorker();
      const run = (type: string, workflowId: string, args: unknown) =>
        stack.client.workflow.execute(type, { taskQueue: stack.taskQueue, workflowId, args: [args] }).catch(() => undefined);
      await run('pluginInstallWorkflow', pluginInstallWorkflowId('replay_ok'), { manifest: manifest('replay_ok', [{ name: 't1' }]), requestedBy: 'admin' });
      await stack.prisma.$executeRawUnsafe('CREATE TABLE IF NOT EXISTS plugin_replay_bad_t2 (x int)');
      await run('pluginInstallWorkflow', pluginInstallWorkflowId('replay_bad'), { manifest: manifest('replay_bad', [{ name: 't1' }, { name: 't2' }]), requestedBy: 'admin' });
      await run('pluginUninstallWorkflow', pluginUninstallWorkflowId('replay_ok'), { pluginId: 'replay_ok', requestedBy: 'admin' });
      // the last step fails: the database refuses this plugin's switch to `enabled`
      await stack.prisma.$executeRawUnsafe("CREATE OR REPLACE FUNCTION refuse_replay_act() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'activation refused'; END $$");
      await stack.prisma.$executeRawUnsafe("CREATE TRIGGER refuse_replay_act BEFORE UPDATE ON plugins FOR EACH ROW WHEN (NEW.id = 'replay_act' AND NEW.status = 'enabled') EXECUTE FUNCTION refuse_replay_act()");
      await run('pluginInstallWorkflow', pluginInstallWorkflowId('replay_act'), { manifest: manifest('replay_act', [{ name: 't1' }]), requestedBy: 'admin' });
      await stack.prisma.$executeRawUnsafe('DROP TRIGGER refuse_replay_act ON plugins');
      await stack.prisma.$executeRawUnsafe('DROP FUNCTION refuse_replay_act()');
      // upgrades go through the service, which claims the plugin for the workflow
      const plugins = createPluginService({ prisma: stack.prisma, temporal: stack.client, taskQueue: stack.taskQueue, events: stack.bus, pluginTools: stack.tools });
      const upgrade = async (id: string) => {
        const { workflowId } = await plugins.upgrade(id, { manifest: { ...manifest(id, [{ name: 't1' }, { name: 't2' }]), version: '2.0.0' } }, 'admin');
        await stack.client.workflow.getHandle(workflowId).result().catch(() => undefined);
      };
      await run('pluginInstallWorkflow', pluginInstallWorkflowId('replay_up'), { manifest: manifest('replay_up', [{ name: 't1' }]), requestedBy: 'admin' });
      await upgrade('replay_up');
      // the last step fails: the database refuses the switch back from `upgrading` at the new version
      await run('pluginInstallWorkflow', pluginInstallWorkflowId('replay_upf'), { manifest: manifest('replay_upf', [{ name: 't1' }]), requestedBy: 'admin' });
      await stack.prisma.$executeRawUnsafe("CREATE OR REPLACE FUNCTION refuse_replay_upf() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'activation refused'; END $$");
      await stack.prisma.$executeRawUnsafe(
        "CREATE TRIGGER refuse_replay_upf BEFORE UPDATE ON plugins FOR EACH ROW WHEN (NEW.id = 'replay_upf' AND OLD.status = 'upgrading' AND NEW.status <> 'upgrading' AND NEW.manifest->>'version' = '2.0.0') EXECUTE FUNCTION refuse_replay_upf()",
      );
      await upgrade('replay_upf');
      await stack.prisma.$executeRawUnsafe('DROP TRIGGER refuse_replay_upf ON plugins');
      await stack.prisma.$executeRawUnsafe('DROP FUNCTION refuse_replay_upf()');
      fs.mkdirSync(DIR, { recursive: true });
      const recorded = [
        ['install-ok', pluginInstallWorkflowId('replay_ok')],
        ['install-compensated', pluginInstallWorkflowId('replay_bad')],
        ['uninstall', pluginUninstallWorkflowId('replay_ok')],
        ['install-activate-failed', pluginInstallWorkflowId('replay_act')],
        ['upgrade-ok', pluginUpgradeWorkflowId('replay_up', '2.0.0')],
        ['upgrade-activate-failed', pluginUpgradeWorkflowId('replay_upf', '2.0.0')],
      ];
      for (const [name, workflowId] of recorded) {
        if (!OVERWRITE && hasRecordedHistory(DIR, name!)) continue;
        writeRecordedHistory(DIR, name!, workflowId!, await stack.client.workflow.getHandle(workflowId!).fetchHistory());
      }
    } finally {
      await stack.close();
    }
  }, 180_000);

  test('every recorded plugin history replays without a determinism error', async () => {
    const files = recordedHistoryFiles(DIR);
    expect(files).toEqual(['install-activate-failed.json', 'install-compensated.json', 'install-ok.json', 'uninstall.json', 'upgrade-activate-failed.json', 'upgrade-ok.json']);
    const results = await replayRecordedHistories(DIR, 'plugin-replay');
    expect(results).toEqual(results.map(({ workflowId }) => ({ workflowId, error: undefined })));
    expect(results).toHaveLength(files.length);
  }, 120_000);
});
