import type { PrismaClient } from '../../platform/database';

/** A saved definition that names one of a plugin's tools. */
export interface PluginToolUser {
  id: string;
  name: string;
}

/**
 * The triggers (action or condition tool) and plans (a step or its compensation) whose stored
 * definition names a tool of plugin `pluginId`: they fail on every firing or run once its tools
 * are gone. Matches the quoted name prefix `"plugin.<id>.` anywhere in the stored JSON.
 */
export async function findPluginToolUsers(prisma: PrismaClient, pluginId: string): Promise<{ triggers: PluginToolUser[]; plans: PluginToolUser[] }> {
  const needle = `"plugin.${pluginId}.`;
  const triggers = await prisma.$queryRaw<PluginToolUser[]>`
    SELECT id, name FROM triggers WHERE strpos(action::text, ${needle}) > 0 OR strpos(config::text, ${needle}) > 0 ORDER BY id`;
  const plans = await prisma.$queryRaw<PluginToolUser[]>`
    SELECT p.id, p.name FROM plans p WHERE EXISTS (SELECT 1 FROM plan_steps s WHERE s.plan_id = p.id AND strpos(s.config::text, ${needle}) > 0) ORDER BY p.id`;
  return { triggers, plans };
}
