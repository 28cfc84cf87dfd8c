import type { PrismaClient } from '../../platform/database';
import { PluginManifest } from './plugin-manifest';

/** Answers whether a plugin may emit (its own `plugin.<id>.*` events) right now. */
export type PluginEmitGrant = (pluginId: string) => Promise<boolean>;

/**
 * The plugin side of the emit rule: a plugin may emit only while it is enabled and its manifest
 * grants `events.emit`. Never throws for an unknown plugin or an unreadable manifest (false).
 * The namespace half of the rule (`plugin.<id>.*` only) stays with each emitter.
 */
export function createPluginEmitGrant(prisma: Pick<PrismaClient, 'plugin'>): PluginEmitGrant {
  return async (pluginId) => {
    const plugin = await prisma.plugin.findUnique({ where: { id: pluginId }, select: { status: true, manifest: true } });
    if (!plugin || plugin.status !== 'enabled') return false;
    const manifest = PluginManifest.safeParse(plugin.manifest);
    return manifest.success && manifest.data.permissions.includes('events.emit');
  };
}
