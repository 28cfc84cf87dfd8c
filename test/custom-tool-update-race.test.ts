import { createToolRegistry } from '../activities/tools/tool-registry';
import { newId } from '../platform/ids';
import { holdRead } from './support/gates';
import { openTestStack, type TestStack } from './support/test-stack';

describe('custom tools: concurrent changes', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await openTestStack();
  });
  afterAll(() => stack.close());

  /** A registry whose first read of a custom tool answers, then waits until `opened`. */
  const heldRegistry = () => {
    const { prisma, at, open } = holdRead(stack.prisma, 'customTool', 'findUnique');
    return { registry: createToolRegistry({ prisma, events: stack.events }), at, open };
  };

  test('two patches of different fields at once keep both changes', async () => {
    const id = await stack.tools.registerCustomTool('ann', { name: `t${newId(6).toLowerCase()}`, description: 'first', code: 'return 1', requiresApproval: false });
    const held = heldRegistry();
    const patchingCode = held.registry.updateCustomTool(id, 'user:ann', { code: 'return 2' });
    await held.at;
    await stack.tools.updateCustomTool(id, 'user:ann', { description: 'second' });
    held.open();
    await patchingCode;
    const row = await stack.prisma.customTool.findUniqueOrThrow({ where: { id } });
    expect({ code: row.code, description: row.description }).toEqual({ code: 'return 2', description: 'second' });
    const registered = await stack.prisma.toolRegistry.findUniqueOrThrow({ where: { id } });
    expect((registered.definition as { description: string }).description).toBe('second');
  });

  test('a patch racing the delete answers NOT_FOUND and writes nothing', async () => {
    const id = await stack.tools.registerCustomTool('ann', { name: `t${newId(6).toLowerCase()}`, description: 'doomed', code: 'return 1', requiresApproval: false });
    const held = heldRegistry();
    const patching = held.registry.updateCustomTool(id, 'user:ann', { description: 'too late' }).then(() => 'ok', (error: { code?: string }) => error.code);
    await held.at;
    await stack.tools.deleteCustomTool(id, 'user:ann');
    held.open();
    expect(await patching).toBe('NOT_FOUND');
    expect(await stack.prisma.customTool.count({ where: { id } })).toBe(0);
    expect(await stack.prisma.toolRegistry.count({ where: { id } })).toBe(0);
  });
});
