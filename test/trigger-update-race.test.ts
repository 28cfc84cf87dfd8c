import { ScheduleNotFoundError } from '@temporalio/client';
import { scheduleIdOf } from '../activities/triggers/trigger-schedules';
import { createTriggerService } from '../activities/triggers/trigger-service';
import { UpdateTriggerBody } from '../activities/triggers/trigger-schemas';
import { buildTriggerApp } from './support/trigger-app';
import { holdRead } from './support/gates';
import { openTestStack, type TestStack } from './support/test-stack';

describe('triggers: an update racing the delete', () => {
  let stack: TestStack;
  let t: Awaited<ReturnType<typeof buildTriggerApp>>;
  beforeAll(async () => {
    stack = await openTestStack();
    t = await buildTriggerApp(stack);
  });
  afterAll(() => stack.close());

  test('an update that read the trigger before it was deleted answers NOT_FOUND and leaves no schedule', async () => {
    const created = (await t.api.post('/api/v1/triggers').send({ name: 'doomed', type: 'schedule', config: { intervalSeconds: 3600 }, action: { kind: 'tool', tool: 'core.echo', args: {} } }).expect(201)).body as { id: string };
    const { prisma, at: atRead, open } = holdRead(stack.prisma, 'trigger', 'findUnique');
    const slow = createTriggerService({ prisma, temporal: stack.client, taskQueue: stack.taskQueue, starter: t.starter, secrets: t.secrets, plans: t.plans, tools: stack.tools });
    const updating = slow.updateTrigger(created.id, UpdateTriggerBody.parse({ name: 'renamed', config: { intervalSeconds: 60 } })).then(() => 'ok', (error: { code?: string }) => error.code);
    await atRead;
    await t.api.delete(`/api/v1/triggers/${created.id}`).expect(204);
    open();
    expect(await updating).toBe('NOT_FOUND');
    await expect(stack.client.schedule.getHandle(scheduleIdOf(created.id)).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  });
});
