import type { PrismaClient } from '../../platform/database';
import { createKeyedSerializer } from '../../platform/keyed-serializer';
import type { Logger } from '../../platform/logger';
import type { EventBus, SubscribeOptions } from '../events/event-bus';
import type { OwnPilotEvent } from '../events/event-types';
import { PluginManifest } from './plugin-manifest';
import type { PluginToolRegistry } from './plugin-ports';

export interface PluginSubscriptionHostDeps {
  prisma: PrismaClient;
  bus: Pick<EventBus, 'subscribe' | 'clearSubscriptions' | 'forPlugin' | 'onReconnect'>;
  tools: Pick<PluginToolRegistry, 'executeTool'>;
  logger: Logger;
  /** Per-plugin delivery limits (default 50 events/s, deferred). */
  limits?: SubscribeOptions;
  /** How often every plugin is compared with plugin_event_subscriptions, to catch lifecycle events this process missed (default 30 s; 0 = never). */
  resyncIntervalMs?: number;
  /** An event whose causal chain already ran through this many subscription handlers is not handled (default 8): stops handler loops. */
  maxHandlerHops?: number;
}

const LIFECYCLE = new Set(['plugin.installed', 'plugin.enabled', 'plugin.disabled', 'plugin.uninstalled', 'plugin.install_failed', 'plugin.upgraded', 'plugin.upgrade_failed']);

type PluginRow = { id: string; status: string; manifest: unknown; subscriptions: { id: string; eventPattern: string; toolName: string | null }[] };

/** What a plugin's row asks this process to have subscribed; undefined when nothing (not enabled). */
const wanted = (plugin: PluginRow | null): string | undefined =>
  plugin?.status === 'enabled'
    ? JSON.stringify([JSON.stringify(plugin.manifest), ...plugin.subscriptions.map((s) => `${s.id}|${s.eventPattern}|${s.toolName ?? ''}`).sort()])
    : undefined;

/**
 * Activates enabled plugins' subscriptions (from plugin_event_subscriptions) on this process's
 * bus, at start and whenever a plugin lifecycle event arrives from any process. Lifecycle events
 * are at-most-once, so the host also converges without them: every `resyncIntervalMs` and each
 * time the bus's listener reconnects it compares every plugin with what it has subscribed and
 * re-syncs the ones that differ. A matching event runs the subscribed tool with
 * `{ event, config }` once per (subscription, event) across all processes: the host first
 * claims the delivery in plugin_event_deliveries, which succeeds only while the plugin is enabled.
 * Events the handler's tool emits carry the handled event's cause, when it has one, counting one
 * more handler hop; an event that already passed `maxHandlerHops` handlers is recorded as a failed
 * delivery and not handled, so handlers feeding each other (within a plugin or across plugins) stop.
 */
export function createPluginSubscriptionHost({
  prisma,
  bus,
  tools,
  logger,
  limits = { ratePerSecond: 50, burst: 50, policy: 'defer' },
  resyncIntervalMs = 30_000,
  maxHandlerHops = 8,
}: PluginSubscriptionHostDeps) {
  const deliver = async (pluginId: string, subscriptionId: string, toolName: string, event: OwnPilotEvent) => {
    const hops = event.cause?.pluginHops ?? 0;
    const refusal = hops >= maxHandlerHops ? `not handled: its causal chain already ran through ${hops} subscription handlers (a handler loop?)` : null;
    // The claim of a refused delivery records the refusal instead, once across all processes.
    const claimed = await prisma.$executeRaw`
      INSERT INTO plugin_event_deliveries (subscription_id, event_id, status, error)
      SELECT ${subscriptionId}, ${event.id}, ${refusal === null ? 'running' : 'failed'}, ${refusal}
      WHERE EXISTS (SELECT 1 FROM plugins WHERE id = ${pluginId} AND status = 'enabled')
      ON CONFLICT DO NOTHING`;
    if (claimed === 0) return;
    if (refusal !== null) {
      logger.warn({ pluginId, subscriptionId, eventId: event.id, type: event.type, hops }, 'plugin subscription handler loop stopped');
      return;
    }
    const idempotencyKey = `${subscriptionId}/${event.id}`;
    try {
      const plugin = await prisma.plugin.findUniqueOrThrow({ where: { id: pluginId }, select: { config: true } });
      // The handler's events inherit the handled event's cause (a trigger loop through a plugin stays
      // traceable) with one more hop, so a loop of handlers through each other's events ends.
      const cause = { ...(event.cause ?? { requesterId: `plugin:${pluginId}`, idempotencyKey }), pluginHops: hops + 1 };
      await tools.executeTool(toolName, { event, config: plugin.config }, { requesterId: `plugin:${pluginId}`, idempotencyKey, cause });
      await prisma.pluginEventDelivery.update({ where: { subscriptionId_eventId: { subscriptionId, eventId: event.id } }, data: { status: 'succeeded' } });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await prisma.pluginEventDelivery.update({ where: { subscriptionId_eventId: { subscriptionId, eventId: event.id } }, data: { status: 'failed', error: message.slice(0, 4000) } });
      throw error; // the bus logs it with the subscriber id
    }
  };

  /** What is subscribed here, per plugin (the `wanted` value it was synced to). */
  const active = new Map<string, string>();
  /** Syncs of one plugin run one after another, so two can never both subscribe. */
  const syncs = createKeyedSerializer();
  let timer: NodeJS.Timeout | undefined;
  let stopReconnect: (() => void) | undefined;
  let resyncing: Promise<{ checked: number; changed: string[] }> | undefined;

  const apply = async (pluginId: string): Promise<number> => {
    const plugin = await prisma.plugin.findUnique({ where: { id: pluginId }, include: { subscriptions: true } });
    bus.clearSubscriptions(`plugin:${pluginId}`);
    const want = wanted(plugin);
    if (want === undefined) {
      active.delete(pluginId);
      return 0;
    }
    active.set(pluginId, want);
    const manifest = PluginManifest.safeParse(plugin!.manifest);
    if (!manifest.success) {
      logger.error({ pluginId }, 'plugin manifest in the database no longer parses; its subscriptions stay inactive');
      return 0;
    }
    const scoped = bus.forPlugin(pluginId, manifest.data.subscriptions.map((s) => s.pattern), { emit: manifest.data.permissions.includes('events.emit') });
    for (const sub of plugin!.subscriptions) {
      if (!sub.toolName) continue;
      const toolName = sub.toolName;
      scoped.subscribe(sub.eventPattern, (event) => deliver(pluginId, sub.id, toolName, event), { ...limits, handlerTimeoutMs: 60_000 });
    }
    return plugin!.subscriptions.length;
  };

  const host = {
    /** Re-reads one plugin and (de)activates its subscriptions here to match; syncs of one plugin never overlap. */
    sync(pluginId: string): Promise<number> {
      return syncs.run(pluginId, () => apply(pluginId));
    },

    /**
     * Compares every plugin in the database with what is subscribed here and re-syncs those that
     * differ (missed install/enable/disable/uninstall); concurrent calls share one pass.
     */
    resync(): Promise<{ checked: number; changed: string[] }> {
      resyncing ??= (async () => {
        const plugins = await prisma.plugin.findMany({ include: { subscriptions: true } });
        const want = new Map(plugins.map((p) => [p.id, wanted(p)]));
        const ids = new Set([...want.keys(), ...active.keys()]);
        const changed = [...ids].filter((id) => want.get(id) !== active.get(id));
        for (const id of changed) await host.sync(id);
        if (changed.length > 0) logger.info({ changed }, 'plugin subscriptions re-synced (a lifecycle event was missed)');
        return { checked: ids.size, changed };
      })().finally(() => {
        resyncing = undefined;
      });
      return resyncing;
    },

    /** Activates every enabled plugin's subscriptions, follows lifecycle events, and re-syncs periodically and on reconnect. */
    async start(): Promise<void> {
      bus.subscribe('plugin-subscription-host', 'plugin.*', (event) => {
        if (!LIFECYCLE.has(event.type)) return;
        return host.sync((event.data as { pluginId: string }).pluginId).then(() => undefined);
      });
      const resyncQuietly = () => void host.resync().catch((error: unknown) => logger.error({ err: error }, 'plugin subscription re-sync failed'));
      stopReconnect = bus.onReconnect(resyncQuietly);
      const { checked } = await host.resync();
      if (resyncIntervalMs > 0) {
        timer = setInterval(resyncQuietly, resyncIntervalMs);
        timer.unref();
      }
      logger.info({ plugins: checked, active: active.size }, 'plugin subscriptions restored');
    },

    /** Stops following lifecycle events and re-syncing; the plugins' subscriptions stay as they are. */
    stop(): void {
      if (timer) clearInterval(timer);
      timer = undefined;
      stopReconnect?.();
      stopReconnect = undefined;
      bus.clearSubscriptions('plugin-subscription-host');
    },
  };
  return host;
}
export type PluginSubscriptionHost = ReturnType<typeof createPluginSubscriptionHost>;
