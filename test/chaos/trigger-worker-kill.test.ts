import type { ChildProcess } from 'node:child_process';
import { newId } from '../../platform/ids';
import { stopChild } from '../../platform/local/temporal-dev-server';
import { buildTriggerApp } from '../support/trigger-app';
import { openTestStack, type TestStack } from '../support/test-stack';
import { eventually } from '../support/wait';
import { killHard, spawnWorker } from '../support/worker-process';

describe('chaos: a worker killed with SIGKILL during a slow trigger tool action', () => {
  let stack: TestStack;
  let t: Awaited<ReturnType<typeof buildTriggerApp>>;
  const workers: ChildProcess[] = [];
  const pluginId = `tkill${newId(6).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`;
  const slowTool = `plugin.${pluginId}.slow_task`;

  beforeAll(async () => {
    stack = await openTestStack();
    t = await buildTriggerApp(stack);
    // A sandboxed tool (any principal may run plugin tools) whose side effect lands before its
    // slow part: a kill in that window leaves the task written and the action unfinished.
    await stack.tools.registerPluginTool(
      pluginId,
      { name: slowTool, description: 'creates a task, then takes a while', category: 'test', parameters: { type: 'object' }, tags: [] },
      "const task = await tools.call('core.tasks.create', { title: args.title }); await tools.call('core.wait', { ms: args.ms }); return task;",
      { allowedTools: ['core.tasks.create', 'core.wait'] },
    );
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => stopChild(w, 5000)));
  });
  afterAll(() => stack.close());

  test('the heartbeat shows the loss: a new worker completes the firing (not at the 5-minute deadline) and the side effect happens once', async () => {
    const title = `trigger kill ${newId(8)}`;
    const trigger = (await t.api.post('/api/v1/triggers').send({ name: 'slow tool', type: 'webhook', action: { kind: 'tool', tool: slowTool, args: { title, ms: 8000 } } }).expect(201)).body.id as string;
    workers.push(spawnWorker(stack.taskQueue));
    const { runId } = (await t.api.post(`/api/v1/triggers/${trigger}/execute`).send({ payload: {} }).expect(202)).body as { runId: string };

    // Kill once the side effect is written and the action is still waiting.
    await eventually(() => stack.prisma.task.count({ where: { title } }), (n) => n === 1, 90_000);
    await killHard(workers.at(-1)!);
    workers.push(spawnWorker(stack.taskQueue));

    // Generous, yet far below the action's 5-minute start-to-close timeout (the only bound without a heartbeat).
    const row = await eventually(() => stack.prisma.triggerHistory.findUnique({ where: { id: runId } }), (r) => r?.status === 'succeeded' || r?.status === 'failed', 60_000);
    expect(row).toMatchObject({ status: 'succeeded', error: null });
    expect(await stack.prisma.task.count({ where: { title } })).toBe(1);

    // The action ran again on the new worker (a retry, with the same idempotency key: one task above).
    const { events } = await stack.client.workflow.getHandle(runId).fetchHistory();
    const scheduled = events!.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'callTriggerTool')!.activityTaskScheduledEventAttributes!;
    expect(Number(scheduled.heartbeatTimeout?.seconds)).toBe(5);
    const attempts = events!.flatMap((e) => (e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt ?? 0] : []));
    expect(Math.max(...attempts)).toBeGreaterThanOrEqual(2);
    await t.api.delete(`/api/v1/triggers/${trigger}`).expect(204);
  }, 240_000);
});
