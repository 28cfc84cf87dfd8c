import { z } from 'zod';
import type { PrismaClient } from '../../platform/database';
import { AppError } from '../../platform/errors';
import { ACTIVE_RUN_STATUSES } from './plan-runs';
import { LimitQuery } from './plan-schemas';
import { QueryFlag } from '../../platform/query-flag';

/** One approval step waiting for a decision the caller may make. */
export const PendingApproval = z.object({
  runId: z.string(),
  planId: z.string(),
  planName: z.string(),
  stepId: z.string(),
  approvers: z.array(z.string()),
  message: z.string().nullable(),
  requestedAt: z.date(),
  runStatus: z.string(),
});
export type PendingApproval = z.infer<typeof PendingApproval>;

/** Query of GET /api/v1/plans/approvals: `all=true` (admin only) lists every waiting approval, which admin may decide as an override. */
export const PendingApprovalsQuery = LimitQuery.extend({ all: QueryFlag.optional() });
export type PendingApprovalsQuery = z.infer<typeof PendingApprovalsQuery>;

/**
 * The approval steps of active runs that wait for a decision `principal` may make, oldest
 * request first: read from plan_history, where a step waits while its latest row is its
 * `plan.approval_required` (a decision, cancellation or reset writes a later row). A step whose
 * approvers name `principal` is theirs; one open to anyone (`*`) is for the run's readers who may
 * decide it: the plan's owner, the run's starter and admin. With `all`, admin gets every waiting
 * step (the others it would decide as an override); anyone else asking for all is FORBIDDEN.
 */
export function createPendingApprovals({ prisma }: { prisma: Pick<PrismaClient, '$queryRaw'> }) {
  return {
    async listPendingApprovals(principal: string, { limit, all = false }: PendingApprovalsQuery): Promise<PendingApproval[]> {
      if (all && principal !== 'admin') throw new AppError('FORBIDDEN', 'only admin may list every waiting approval (all=true)');
      const rows = await prisma.$queryRaw<(Omit<PendingApproval, 'approvers' | 'message'> & { details: { approvers?: string[]; message?: string } | null })[]>`
        WITH latest AS (
          SELECT DISTINCT ON (h.run_id, h.step_id) h.run_id, h.step_id, h.event, h.details, h.created_at
          FROM plan_history h
          JOIN plan_runs r ON r.id = h.run_id AND r.status = ANY(${[...ACTIVE_RUN_STATUSES]}::text[])
          WHERE h.step_id IS NOT NULL
            AND EXISTS (SELECT 1 FROM plan_history a WHERE a.run_id = h.run_id AND a.step_id = h.step_id AND a.event = 'plan.approval_required')
          ORDER BY h.run_id, h.step_id, h.sequence DESC, h.id DESC
        )
        SELECT l.run_id AS "runId", r.plan_id AS "planId", p.name AS "planName", l.step_id AS "stepId", l.details,
               l.created_at AS "requestedAt", r.status AS "runStatus"
        FROM latest l JOIN plan_runs r ON r.id = l.run_id JOIN plans p ON p.id = r.plan_id
        WHERE l.event = 'plan.approval_required'
          AND (${all}::boolean OR l.details->'approvers' ? ${principal}
            OR (l.details->'approvers' ? '*' AND (${principal} = 'admin' OR r.started_by = ${principal} OR COALESCE(p.created_by, 'admin') = ${principal})))
        ORDER BY l.created_at, l.run_id, l.step_id
        LIMIT ${limit}`;
      return rows.map(({ details, ...row }) => ({ ...row, approvers: details?.approvers ?? [], message: details?.message ?? null }));
    },
  };
}
