import type { Express } from 'express';
import request from 'supertest';
import type { PluginManifestInput } from '../activities/plugins/plugin-manifest';
import { createPluginSubscriptionHost, type PluginSubscriptionHost } from '../activities/plugins/plugin-subscription-host';
import { newId } from '../platform/ids';
import { createLogger } from '../platform/logger';
import { testPluginManifest } from './support/plugin-fixtures';
import { openTestStack, type TestStack } from './support/test-stack';
import { PRINCIPAL_HEADER, toolTestApp } from './support/tool-test-app';
import { eventually } from './support/wait';

const logger = createLogger('test', 'silent');
const MAX_HOPS = 3;

/** A plugin whose handler of `listensTo` emits `plugin.<id>.<emits>`. */
const relay = (id: string, listensTo: string, emits: string): PluginManifestInput =>
  testPluginManifest(id, {
    permissions: ['tools', 'events.subscribe', 'events.emit'],
    tables: [],
    tools: [
      {
        name: 'relay',
        description: 'emits an event for every event it handles',
        parameters: { type: 'object' },
        allowedTools: ['core.events.emit'],
        code: `await tools.call('core.events.emit', { type: 'plugin.${id}.${emits}', data: { from: args.event.id } }); return {};`,
      },
    ],
    subscriptions: [{ pattern: listensTo, tool: 'relay' }],
  });

describe('plugin subscription handlers feeding each other stop', () => {
  let stack: TestStack;
  let app: Express;
  let host: PluginSubscriptionHost;

  const install = async (m: PluginManifestInput) => {
    const started = await request(app).post('/api/v1/plugins').set(PRINCIPAL_HEADER, 'admin').send(m).expect(202);
    await stack.client.workflow.getHandle(started.body.workflowId).result();
  };
  const logged = (types: string[]) => stack.prisma.eventLog.findMany({ where: { eventType: { in: types } }, orderBy: { timestamp: 'asc' } });
  /** Waits until the loop was stopped (a refused delivery is recorded), then for everything emitted before that to be logged. */
  const stopped = async (pluginIds: string[]) => {
    const refused = await eventually(
      () => stack.prisma.pluginEventDelivery.findMany({ where: { subscription: { pluginId: { in: pluginIds } }, status: 'failed' } }),
      (rows) => rows.length > 0,
    );
    await stack.bus.flush();
    return refused;
  };

  beforeAll(async () => {
    stack = await openTestStack();
    await stack.startWorker();
    host = createPluginSubscriptionHost({ prisma: stack.prisma, bus: stack.bus, tools: stack.tools, logger, maxHandlerHops: MAX_HOPS });
    await host.start();
    app = toolTestApp(stack);
  });
  afterAll(async () => {
    host.stop();
    await stack.close();
  });

  test('a handler that emits the event it handles runs maxHandlerHops times, then the loop is recorded as refused', async () => {
    const id = `loop_${newId(6)}`;
    const type = `plugin.${id}.ping`;
    await install(relay(id, type, 'ping'));
    const first = stack.bus.emit(type, { n: 0 }, `plugin:${id}`);

    const [refused] = await stopped([id]);
    expect(refused?.error).toMatch(new RegExp(`already ran through ${MAX_HOPS} subscription handlers`));
    const events = await logged([type]);
    // the first event plus one per handler run; the last one is not handled
    expect(events).toHaveLength(MAX_HOPS + 1);
    expect(events[0]?.id).toBe(first.id);
    expect(events.map((e) => (e.cause as { pluginHops?: number } | null)?.pluginHops ?? 0)).toEqual([0, 1, 2, 3]);
    expect(refused?.eventId).toBe(events[MAX_HOPS]?.id);
    const deliveries = await stack.prisma.pluginEventDelivery.findMany({ where: { subscription: { pluginId: id } } });
    expect(deliveries.map((d) => d.status).sort()).toEqual(['failed', 'succeeded', 'succeeded', 'succeeded']);
  });

  test('two plugins relaying each other’s events stop the same way (hops count across plugins)', async () => {
    const a = `pa_${newId(6)}`;
    const b = `pb_${newId(6)}`;
    await install(relay(a, `plugin.${b}.pong`, 'ping'));
    await install(relay(b, `plugin.${a}.ping`, 'pong'));
    stack.bus.emit(`plugin.${a}.ping`, { n: 0 }, `plugin:${a}`);

    await stopped([a, b]);
    const events = await logged([`plugin.${a}.ping`, `plugin.${b}.pong`]);
    expect(events.map((e) => e.eventType)).toEqual([`plugin.${a}.ping`, `plugin.${b}.pong`, `plugin.${a}.ping`, `plugin.${b}.pong`]);
  });
});
