import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { PrismaClient } from '../../platform/database';
import type { SettledPluginStatus } from '../../workflows/plugin-types';

export interface PluginUpgradeClaimDeps {
  prisma: PrismaClient;
  temporal: Pick<Client, 'workflow'>;
  /** How old a claim must be before a missing workflow means it was abandoned (the claimer may be about to start it). */
  graceMs?: number;
  now?: () => number;
}

/** Long enough for any claimer still alive to have started its workflow (a start retries for seconds at most). */
export const UPGRADE_CLAIM_GRACE_MS = 60_000;

/**
 * The `upgrading` claim an upgrade request takes before it starts its workflow. It remembers the
 * status and workflow_id it took over, so that it can be given back: by the claimer when the
 * start fails, and by anyone once it is older than the grace period and its workflow does not
 * exist (the claimer died between the two).
 */
export function createPluginUpgradeClaim({ prisma, temporal, graceMs = UPGRADE_CLAIM_GRACE_MS, now = Date.now }: PluginUpgradeClaimDeps) {
  /** Gives the plugin back to what the claim took over; false when the claim `workflowId` no longer holds it. */
  const giveBack = async (pluginId: string, workflowId: string): Promise<boolean> => {
    const count = await prisma.$executeRaw`
      UPDATE plugins SET status = upgrade_from_status, workflow_id = upgrade_from_workflow_id,
        upgrade_from_status = NULL, upgrade_from_workflow_id = NULL, updated_at = now()
      WHERE id = ${pluginId} AND status = 'upgrading' AND workflow_id = ${workflowId} AND upgrade_from_status IS NOT NULL`;
    return count > 0;
  };

  const workflowExists = async (workflowId: string) => {
    try {
      await temporal.workflow.getHandle(workflowId).describe();
      return true;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return false;
      throw error;
    }
  };

  return {
    /**
     * Claims the plugin for `workflowId` if it is still as it was read (status and workflow_id:
     * another lifecycle workflow since then changed the id, even if the status is the same again).
     * False when it is not.
     */
    async claim(plugin: { id: string; workflowId: string | null }, settled: SettledPluginStatus, workflowId: string): Promise<boolean> {
      const { count } = await prisma.plugin.updateMany({
        where: { id: plugin.id, status: settled, workflowId: plugin.workflowId },
        data: { status: 'upgrading', workflowId, upgradeFromStatus: settled, upgradeFromWorkflowId: plugin.workflowId, updatedAt: new Date(now()) },
      });
      return count > 0;
    },

    giveBack,

    /**
     * Gives back an `upgrading` claim that is older than the grace period and whose workflow does
     * not exist in Temporal; true when it did. A claim taken before its previous status was
     * recorded is left alone. Throws what Temporal throws other than "not found".
     */
    async releaseIfAbandoned(plugin: { id: string; status: string; workflowId: string | null; updatedAt: Date }): Promise<boolean> {
      if (plugin.status !== 'upgrading' || plugin.workflowId === null) return false;
      if (now() - plugin.updatedAt.getTime() < graceMs) return false;
      if (await workflowExists(plugin.workflowId)) return false;
      return giveBack(plugin.id, plugin.workflowId);
    },
  };
}
export type PluginUpgradeClaim = ReturnType<typeof createPluginUpgradeClaim>;
