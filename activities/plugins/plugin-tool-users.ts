import type { PrismaClient } from '../../platform/database';

/** A saved definition that names one of a plugin's tools. */
export interface PluginToolUser {
  id: string;
  name: string;
}

/**
 * The triggers (action or condition tool) and plans (a step or its compensation) whose stored
 * definition names a tool of plugin `pluginId` (any of them, or only those in `tools`): they fail
 * on every firing or run once those tools are gone. Matches the quoted name (`"plugin.<id>.<tool>"`,
 * or the prefix `"plugin.<id>.` for any tool) anywhere in the stored JSON.
 */
export async function findPluginToolUsers(prisma: PrismaClient, pluginId: string, tools?: string[]): Promise<{ triggers: PluginToolUser[]; plans: PluginToolUser[] }> {
  const needles = tools ? tools.map((t) => `"plugin.${pluginId}.${t}"`) : [`"plugin.${pluginId}.`];
  if (needles.length === 0) return { triggers: [], plans: [] };
  const triggers = await prisma.$queryRaw<PluginToolUser[]>`
    SELECT id, name FROM triggers t WHERE EXISTS (SELECT 1 FROM unnest(${needles}::text[]) n WHERE strpos(t.action::text, n) > 0 OR strpos(t.config::text, n) > 0) ORDER BY id`;
  const plans = await prisma.$queryRaw<PluginToolUser[]>`
    SELECT p.id, p.name FROM plans p WHERE EXISTS (
      SELECT 1 FROM plan_steps s, unnest(${needles}::text[]) n WHERE s.plan_id = p.id AND strpos(s.config::text, n) > 0) ORDER BY p.id`;
  return { triggers, plans };
}
