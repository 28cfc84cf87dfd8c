import { createPluginService } from '../activities/plugins/plugin-service';
import { newId } from '../platform/ids';
import { gate, holdRead } from './support/gates';
import { pluginFootprint, testPluginManifest } from './support/plugin-fixtures';
import { openTestStack, type TestStack } from './support/test-stack';
import { eventually } from './support/wait';

describe('plugin lifecycle: enable/disable racing uninstall or each other', () => {
  let stack: TestStack;
  // The uninstall of the plugin under test, once begun, waits before removing anything until the test opens this.
  let uninstallHeld: ReturnType<typeof gate> | undefined;
  beforeAll(async () => {
    stack = await openTestStack();
    await stack.startWorker({}, {
      activity: [
        (ctx) => ({
          inbound: {
            async execute(input, next) {
              if (ctx.info.activityType === 'removePluginSubscriptions' && uninstallHeld) {
                uninstallHeld.reached();
                await uninstallHeld.opened;
              }
              return next(input);
            },
          },
        }),
      ],
    });
  });
  afterAll(() => stack.close());

  const service = (prisma = stack.prisma, pluginTools: Parameters<typeof createPluginService>[0]['pluginTools'] = stack.tools) =>
    createPluginService({ prisma, temporal: stack.client, taskQueue: stack.taskQueue, events: stack.bus, pluginTools });
  const install = async (id: string) => {
    const { workflowId } = await service().install(testPluginManifest(id), 'admin');
    await stack.client.workflow.getHandle(workflowId).result();
  };
  const outcome = (p: Promise<unknown>) => p.then(() => 'ok', (error: { code?: string }) => error.code ?? String(error));

  test('a disable that read the plugin before its uninstall began does not undo the uninstall: the plugin is gone, not left disabled', async () => {
    const id = `race_${newId(6).toLowerCase()}`;
    await install(id);
    // The disable's read of the plugin answers, then waits until the uninstall has begun.
    const read = holdRead(stack.prisma, 'plugin', 'findUnique');
    const { prisma } = read;
    const disabling = outcome(service(prisma).disable(id));
    await read.at;
    uninstallHeld = gate();
    const { workflowId } = await service().uninstall(id, 'admin');
    await uninstallHeld.at;
    read.open();
    const disabled = await disabling;
    uninstallHeld.open();
    uninstallHeld = undefined;
    await stack.client.workflow.getHandle(workflowId).result();
    expect(disabled).toBe('INVALID_STATE');
    expect(await stack.prisma.plugin.findUnique({ where: { id } })).toBeNull();
    expect(await pluginFootprint(stack.prisma, id)).toEqual({ tables: [], metadata: [], tools: [], subscriptions: 0, storage: 0 });
  });

  test('an enable and a disable at once leave status and tools agreeing', async () => {
    const id = `race_${newId(6).toLowerCase()}`;
    await install(id);
    await service().disable(id);
    // The enable has enabled the plugin's tools and waits before it records the status.
    const enabled = gate();
    let hold = true;
    const pluginTools = {
      enableTool: async (name: string, principal: string) => {
        await stack.tools.enableTool(name, principal);
        if (hold && name.endsWith('.double')) {
          hold = false;
          enabled.reached();
          await enabled.opened;
        }
      },
      disableTool: (name: string, principal: string) => stack.tools.disableTool(name, principal),
    };
    const enabling = outcome(service(stack.prisma, pluginTools).enable(id));
    await enabled.at;
    const disabling = outcome(service().disable(id));
    // Without coordination the disable goes through now, turning the just-enabled tools off again; give it the chance.
    const toolsOf = () => stack.prisma.toolRegistry.findMany({ where: { source: 'plugin', sourceId: id }, select: { isEnabled: true } });
    await eventually(toolsOf, (tools) => tools.every((t) => !t.isEnabled), 2_000).catch(() => undefined);
    enabled.open();
    expect([await enabling, await disabling]).toEqual(['ok', 'ok']);
    const status = (await stack.prisma.plugin.findUniqueOrThrow({ where: { id } })).status;
    const tools = await toolsOf();
    expect(tools.map((t) => t.isEnabled)).toEqual(tools.map(() => status === 'enabled'));
    const { workflowId } = await service().uninstall(id, 'admin');
    await stack.client.workflow.getHandle(workflowId).result();
  });

  test('a storage write that passed its checks before the plugin was uninstalled leaves nothing behind for a later install of the same id', async () => {
    const id = `race_${newId(6).toLowerCase()}`;
    await install(id);
    // The write has checked its key quota and waits before it writes, until the uninstall is over.
    const checked = holdRead(stack.prisma, 'pluginStorage', ['count', 'findUnique']);
    const { prisma } = checked;
    const writing = outcome(service(prisma).getStorage(id).set('token', { secret: 'of the old install' }));
    await checked.at;
    const { workflowId } = await service().uninstall(id, 'admin');
    await stack.client.workflow.getHandle(workflowId).result();
    checked.open();
    expect(await writing).toBe('NOT_FOUND');
    expect(await pluginFootprint(stack.prisma, id)).toEqual({ tables: [], metadata: [], tools: [], subscriptions: 0, storage: 0 });
    await install(id);
    expect(await service().getStorage(id).get('token')).toBeUndefined();
    const again = await service().uninstall(id, 'admin');
    await stack.client.workflow.getHandle(again.workflowId).result();
  });

  test('a config change that read the plugin before its uninstall answers NOT_FOUND, not 500', async () => {
    const id = `race_${newId(6).toLowerCase()}`;
    await install(id);
    const read = holdRead(stack.prisma, 'plugin', 'findUnique');
    const { prisma } = read;
    const configuring = outcome(service(prisma).updateConfig(id, { level: 2 }));
    await read.at;
    const { workflowId } = await service().uninstall(id, 'admin');
    await stack.client.workflow.getHandle(workflowId).result();
    read.open();
    expect(await configuring).toBe('NOT_FOUND');
    expect(await stack.prisma.plugin.findUnique({ where: { id } })).toBeNull();
  });
});
