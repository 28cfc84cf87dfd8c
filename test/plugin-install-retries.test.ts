import { WorkflowFailedError } from '@temporalio/client';
import type { DatabaseAcl } from '../activities/acl/acl-service';
import { newId } from '../platform/ids';
import { pluginInstallWorkflowId } from '../workflows/plugin-types';
import { pluginFootprint, testPluginManifest } from './support/plugin-fixtures';
import { openTestStack, type TestStack } from './support/test-stack';

// A step whose work committed but whose reply was lost (the connection dropped after the commit,
// the worker died before recording it) runs again: the retry finds its own work already done.
describe('plugin install: steps retried after a lost reply are still undone on failure', () => {
  let stack: TestStack;
  /** Plugin ids whose first table create commits, then fails as if its reply were lost. */
  const loseFirstReply = new Set<string>();

  beforeAll(async () => {
    stack = await openTestStack();
    const acl: DatabaseAcl = {
      ...stack.acl,
      async createPluginTable(pluginId, tableDef) {
        const result = await stack.acl.createPluginTable(pluginId, tableDef);
        if (loseFirstReply.delete(pluginId)) throw new Error('Connection terminated unexpectedly');
        return result;
      },
    };
    await stack.startWorker({ acl });
  });
  afterAll(() => stack.close());

  test('a table whose create was retried is dropped when a later step fails', async () => {
    const id = `lr_${newId(6)}`;
    const base = testPluginManifest(id);
    // the tools step fails for good: the second tool's JSON schema is invalid
    const manifest = { ...base, tools: [base.tools![1]!, { name: 'broken', description: 'bad schema', parameters: { type: 'object', properties: { x: { type: 'nonsense' } } }, code: 'return 1;' }], subscriptions: [] };
    loseFirstReply.add(id);
    const failure = await stack.client.workflow
      .execute('pluginInstallWorkflow', { taskQueue: stack.taskQueue, workflowId: pluginInstallWorkflowId(id), args: [{ manifest, requestedBy: 'admin' }] })
      .then(() => undefined, (e: unknown) => e);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure as WorkflowFailedError).cause?.message).toMatch(/failed at tools/);
    expect(loseFirstReply.has(id)).toBe(false); // the lost reply did happen
    expect(await stack.prisma.plugin.findUnique({ where: { id } })).toMatchObject({ status: 'error' });
    expect(await pluginFootprint(stack.prisma, id)).toEqual({ tables: [], metadata: [], tools: [], subscriptions: 0, storage: 0 });
  });
});
