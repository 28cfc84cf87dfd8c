import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { pluginInstallWorkflowId, pluginUninstallWorkflowId } from '../workflows/plugin-types';
import { recordedHistoryFiles, replayRecordedHistories } from './support/replay';
import { openTestStack } from './support/test-stack';

// Recorded histories of plugin installs (success, and failure with compensation) and an
// uninstall, replayed against the current workflow code so a change that breaks determinism
// fails `npm test`. Re-record (after an intended, versioned change) with:
//   RECORD_PLUGIN_HISTORIES=1 npx jest test/plugin-replay.test.ts
const DIR = path.join(__dirname, 'replay-histories', 'plugins');
const RECORD = process.env.RECORD_PLUGIN_HISTORIES === '1';

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
      fs.mkdirSync(DIR, { recursive: true });
      for (const [name, workflowId] of [['install-ok', pluginInstallWorkflowId('replay_ok')], ['install-compensated', pluginInstallWorkflowId('replay_bad')], ['uninstall', pluginUninstallWorkflowId('replay_ok')]]) {
        const history = await stack.client.workflow.getHandle(workflowId!).fetchHistory();
        fs.writeFileSync(path.join(DIR, `${name}.json`), JSON.stringify({ workflowId, history: temporal.api.history.v1.History.fromObject(history).toJSON() }, null, 1));
      }
    } finally {
      await stack.close();
    }
  }, 180_000);

  test('every recorded plugin history replays without a determinism error', async () => {
    const files = recordedHistoryFiles(DIR);
    expect(files).toEqual(['install-compensated.json', 'install-ok.json', 'uninstall.json']);
    const results = await replayRecordedHistories(DIR, 'plugin-replay');
    expect(results).toEqual(results.map(({ workflowId }) => ({ workflowId, error: undefined })));
    expect(results).toHaveLength(files.length);
  }, 120_000);
});
