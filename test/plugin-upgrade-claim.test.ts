import { createPluginService } from '../activities/plugins/plugin-service';
import { createPluginUpgradeClaim } from '../activities/plugins/plugin-upgrade-claim';
import { newId } from '../platform/ids';
import { pluginUpgradeWorkflowId, type PluginUpgradeInput } from '../workflows/plugin-types';
import { testPluginManifest } from './support/plugin-fixtures';
import { openTestStack, type TestStack } from './support/test-stack';

describe('plugin upgrade claim whose workflow never started (the API died in between)', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await openTestStack();
    await stack.startWorker();
  });
  afterAll(() => stack.close());

  const service = (upgradeClaimGraceMs?: number) =>
    createPluginService({ prisma: stack.prisma, temporal: stack.client, taskQueue: stack.taskQueue, events: stack.bus, pluginTools: stack.tools, upgradeClaimGraceMs });
  const outcome = (p: Promise<unknown>) => p.then(() => 'ok', (error: { code?: string }) => error.code ?? String(error));
  const row = (id: string) => stack.prisma.plugin.findUniqueOrThrow({ where: { id } });
  /** Installs the plugin and claims it for an upgrade to 2.0.0 as the upgrade request does, without starting the workflow. */
  const installAndClaim = async (id: string) => {
    const { workflowId } = await service().install(testPluginManifest(id), 'admin');
    await stack.client.workflow.getHandle(workflowId).result();
    await service().disable(id);
    const installed = await row(id);
    const claimWorkflowId = pluginUpgradeWorkflowId(id, '2.0.0');
    expect(await createPluginUpgradeClaim({ prisma: stack.prisma, temporal: stack.client }).claim(installed, 'disabled', claimWorkflowId)).toBe(true);
    return { installed, claimWorkflowId };
  };
  const v2 = (id: string) => ({ manifest: { ...testPluginManifest(id), version: '2.0.0' } });

  test('within the grace period the claim holds; past it, it is given back to the status it took over and the plugin is usable again', async () => {
    const id = `uc_${newId(6).toLowerCase()}`;
    const { installed } = await installAndClaim(id);
    // the claimer may be about to start its workflow
    expect(await outcome(service().enable(id))).toBe('INVALID_STATE');
    expect(await outcome(service().upgrade(id, v2(id), 'admin'))).toBe('INVALID_STATE');
    expect((await row(id)).status).toBe('upgrading');

    const pastGrace = service(0);
    expect(await outcome(pastGrace.updateConfig(id, { level: 2 }))).toBe('ok');
    expect(await row(id)).toMatchObject({ status: 'disabled', workflowId: installed.workflowId, upgradeFromStatus: null, upgradeFromWorkflowId: null });
    await pastGrace.enable(id);
    // and it upgrades
    const { workflowId } = await pastGrace.upgrade(id, v2(id), 'admin');
    await stack.client.workflow.getHandle(workflowId).result();
    expect(await row(id)).toMatchObject({ status: 'enabled', manifest: { version: '2.0.0' }, config: { level: 2 }, upgradeFromStatus: null });
  });

  test('past the grace period a claim whose workflow exists is left alone', async () => {
    const id = `uc_${newId(6).toLowerCase()}`;
    const { claimWorkflowId } = await installAndClaim(id);
    // The claimed workflow exists (no worker polls its queue, so it never runs a step).
    const input: PluginUpgradeInput = { pluginId: id, manifest: v2(id).manifest, dropRemovedTables: false, settled: 'disabled', requestedBy: 'admin' };
    const handle = await stack.client.workflow.start('pluginUpgradeWorkflow', { taskQueue: `nobody-${newId(6)}`, workflowId: claimWorkflowId, args: [input] });
    try {
      expect(await outcome(service(0).enable(id))).toBe('INVALID_STATE');
      expect(await outcome(service(0).uninstall(id, 'admin'))).toBe('INVALID_STATE');
      expect((await row(id)).status).toBe('upgrading');
    } finally {
      await handle.terminate('test over');
    }
  });
});
