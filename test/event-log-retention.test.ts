import { createEventLogRetention } from '../activities/events/event-log-retention';
import { loadConfig } from '../platform/config';
import { newId } from '../platform/ids';
import { createLogger } from '../platform/logger';
import { openTestStack, type TestStack } from './support/test-stack';

const DAY_MS = 86_400_000;

describe('event_log retention', () => {
  let stack: TestStack;
  const logger = createLogger('test', 'silent');
  const tag = newId(6);
  const pluginId = `ret_${tag}`;
  const subscriptionId = `${pluginId}:0`;
  const daysAgo = (days: number) => new Date(Date.now() - days * DAY_MS);

  beforeAll(async () => {
    stack = await openTestStack();
    const ages = [200, 120, 91, 89, 1];
    await stack.prisma.eventLog.createMany({
      data: ages.map((days, i) => ({ id: `${tag}-${i}`, eventType: `agent.${tag}`, category: 'agent', source: 'test', data: { days }, timestamp: daysAgo(days) })),
    });
    await stack.prisma.plugin.create({ data: { id: pluginId, manifest: {}, status: 'enabled', installedAt: new Date(), updatedAt: new Date() } });
    await stack.prisma.pluginEventSubscription.create({ data: { id: subscriptionId, pluginId, eventPattern: `agent.${tag}`, toolName: `plugin.${pluginId}.x` } });
    await stack.prisma.pluginEventDelivery.createMany({
      data: ages.map((days, i) => ({ subscriptionId, eventId: `${tag}-${i}`, status: 'succeeded', createdAt: daysAgo(days) })),
    });
  });
  afterAll(async () => {
    await stack.prisma.plugin.deleteMany({ where: { id: pluginId } });
    await stack.close();
  });

  const left = async () => ({
    events: (await stack.prisma.eventLog.findMany({ where: { eventType: `agent.${tag}` }, orderBy: { id: 'asc' } })).map((e) => e.id),
    deliveries: (await stack.prisma.pluginEventDelivery.findMany({ where: { subscriptionId }, orderBy: { eventId: 'asc' } })).map((d) => d.eventId),
  });

  test('0 keeps everything; the default of 90 days is what the config gives', async () => {
    expect(loadConfig({}).EVENT_LOG_RETENTION_DAYS).toBe(90);
    expect(await createEventLogRetention({ prisma: stack.prisma, logger, retentionDays: 0 }).prune()).toEqual({ events: 0, deliveries: 0 });
    expect((await left()).events).toHaveLength(5);
  });

  test('prune deletes events and delivery claims older than the window, in batches, and keeps the rest', async () => {
    const retention = createEventLogRetention({ prisma: stack.prisma, logger, retentionDays: 90, batchSize: 2 });
    const pruned = await retention.prune();
    // at least this file's three old events and their claims (another file may have old rows too)
    expect(pruned.events).toBeGreaterThanOrEqual(3);
    expect(pruned.deliveries).toBeGreaterThanOrEqual(3);
    expect(await left()).toEqual({ events: [`${tag}-3`, `${tag}-4`], deliveries: [`${tag}-3`, `${tag}-4`] });
    expect(await retention.prune()).toEqual({ events: 0, deliveries: 0 });
  });
});
