import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { PrismaClient } from '../../platform/database';
import { historyId } from './plan-history-writer';
import { ACTIVE_RUN_STATUSES } from './plan-runs';

/** The last sequence a run's history can hold: the settled end sorts after every transition. */
const LAST_SEQUENCE = 999_999_999;

/** What a run whose workflow closed without writing its end is recorded as, by Temporal status. */
const ENDS: Record<string, { status: 'failed' | 'cancelled'; error: string }> = {
  TERMINATED: { status: 'failed', error: 'the workflow was terminated outside OwnPilot (e.g. from the Temporal Web UI or CLI): no compensation ran' },
  TIMED_OUT: { status: 'failed', error: 'the workflow timed out in Temporal' },
  FAILED: { status: 'failed', error: 'the workflow failed in Temporal before it recorded its end' },
  CANCELLED: { status: 'cancelled', error: 'the workflow was cancelled before it recorded its end' },
};

/**
 * Runs whose workflow closed without writing its end (terminated from the Web UI, timed out):
 * their row would stay active for good, holding a `maxConcurrentRuns` slot and blocking the
 * plan's deletion. `settle` asks Temporal and, when the workflow is closed so, writes that end
 * (row and a `plan_history` row); the workflow's own end, written before it completes, is never touched.
 */
export function createClosedRuns({ prisma, temporal }: { prisma: Pick<PrismaClient, '$transaction'>; temporal: Pick<Client, 'workflow'> }) {
  return {
    /** True when the run's workflow has closed without its end and the row now says so (or already did). */
    async settle(runId: string): Promise<boolean> {
      let closedAs: string;
      try {
        closedAs = (await temporal.workflow.getHandle(runId).describe()).status.name;
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return false; // not started yet, or its history is gone: nothing to go by
        throw error;
      }
      const end = ENDS[closedAs];
      if (!end) return false;
      await prisma.$transaction(async (tx) => {
        const ended = await tx.planRun.updateMany({ where: { id: runId, status: { in: ACTIVE_RUN_STATUSES } }, data: { status: end.status, error: end.error, finishedAt: new Date() } });
        if (ended.count === 0) return;
        const run = await tx.planRun.findUniqueOrThrow({ where: { id: runId }, select: { planId: true } });
        await tx.planHistory.createMany({
          data: [{ id: historyId(runId, LAST_SEQUENCE, '.settled'), planId: run.planId, runId, event: `plan.${end.status}`, status: end.status, sequence: LAST_SEQUENCE, details: { error: end.error, temporalStatus: closedAs } }],
          skipDuplicates: true,
        });
      });
      return true;
    },
  };
}
