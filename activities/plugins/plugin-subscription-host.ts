import type { PrismaClient } from '../../platform/database';
import type { Logger } from '../../platform/logger';
import type { EventBus, SubscribeOptions } from '../events/event-bus';
import type { OwnPilotEvent } from '../events/event-types';
import { PluginManifest } from './plugin-manifest';
import type { PluginToolRegistry } from './plugin-ports';

export interface PluginSubscriptionHostDeps {
  prisma: PrismaClient;
  bus: Pick<EventBus, 'subscribe' | 'clearSubscriptions' | 'forPlugin'>;
  tools: Pick<PluginToolRegistry, 'executeTool'>;
  logger: Logger;
  /** Per-plugin delivery limits (default 50 events/s, deferred). */
  limits?: SubscribeOptions;
}

const LIFECYCLE = new Set(['plugin.installed', 'plugin.enabled', 'plugin.disabled', 'plugin.uninstalled']);

/**
 * Activates enabled plugins' subscriptions (from plugin_event_subscriptions) on this process's
 * bus, at start and whenever a plugin lifecycle event arrives from any process. A matching event
 * runs the subscribed tool with `{ event, config }` once per (subscription, event) across all processes: the host first
 * claims the delivery in plugin_event_deliveries, which succeeds only while the plugin is enabled.
 */
export function createPluginSubscriptionHost({ prisma, bus, tools, logger, limits = { ratePerSecond: 50, burst: 50, policy: 'defer' } }: PluginSubscriptionHostDeps) {
  const deliver = async (pluginId: string, subscriptionId: string, toolName: string, event: OwnPilotEvent) => {
    const claimed = await prisma.$executeRaw`
      INSERT INTO plugin_event_deliveries (subscription_id, event_id)
      SELECT ${subscriptionId}, ${event.id}
      WHERE EXISTS (SELECT 1 FROM plugins WHERE id = ${pluginId} AND status = 'enabled')
      ON CONFLICT DO NOTHING`;
    if (claimed === 0) return;
    try {
      const plugin = await prisma.plugin.findUniqueOrThrow({ where: { id: pluginId }, select: { config: true } });
      await tools.executeTool(toolName, { event, config: plugin.config }, { requesterId: `plugin:${pluginId}`, idempotencyKey: `${subscriptionId}/${event.id}` });
      await prisma.pluginEventDelivery.update({ where: { subscriptionId_eventId: { subscriptionId, eventId: event.id } }, data: { status: 'succeeded' } });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await prisma.pluginEventDelivery.update({ where: { subscriptionId_eventId: { subscriptionId, eventId: event.id } }, data: { status: 'failed', error: message.slice(0, 4000) } });
      throw error; // the bus logs it with the subscriber id
    }
  };

  const host = {
    /** Re-reads one plugin and (de)activates its subscriptions here to match; never throws. */
    async sync(pluginId: string): Promise<number> {
      bus.clearSubscriptions(`plugin:${pluginId}`);
      const plugin = await prisma.plugin.findUnique({ where: { id: pluginId }, include: { subscriptions: true } });
      if (!plugin || plugin.status !== 'enabled') return 0;
      const manifest = PluginManifest.safeParse(plugin.manifest);
      if (!manifest.success) {
        logger.error({ pluginId }, 'plugin manifest in the database no longer parses; its subscriptions stay inactive');
        return 0;
      }
      const scoped = bus.forPlugin(pluginId, manifest.data.subscriptions.map((s) => s.pattern));
      for (const sub of plugin.subscriptions) {
        if (!sub.toolName) continue;
        const toolName = sub.toolName;
        scoped.subscribe(sub.eventPattern, (event) => deliver(pluginId, sub.id, toolName, event), { ...limits, handlerTimeoutMs: 60_000 });
      }
      return plugin.subscriptions.length;
    },

    /** Activates every enabled plugin's subscriptions and follows lifecycle events from now on. */
    async start(): Promise<void> {
      bus.subscribe('plugin-subscription-host', 'plugin.*', (event) => {
        if (!LIFECYCLE.has(event.type)) return;
        return host.sync((event.data as { pluginId: string }).pluginId);
      });
      const enabled = await prisma.plugin.findMany({ where: { status: 'enabled' }, select: { id: true } });
      for (const { id } of enabled) await host.sync(id);
      logger.info({ plugins: enabled.length }, 'plugin subscriptions restored');
    },
  };
  return host;
}
export type PluginSubscriptionHost = ReturnType<typeof createPluginSubscriptionHost>;
