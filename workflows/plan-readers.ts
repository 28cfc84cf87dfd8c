// Who may read a plan run and decide its approvals; pure, so the plan workflow computes it from its own input.

/** Principals named as approvers anywhere in a plan definition (stored JSON: anything else in it is ignored). */
export function approversOf(definition: unknown): string[] {
  const steps = (definition as { steps?: { kind?: string; approvers?: unknown }[] } | null)?.steps ?? [];
  return steps.flatMap((s) => (s.kind === 'approval' && Array.isArray(s.approvers) ? s.approvers.filter((a): a is string => typeof a === 'string') : []));
}

/**
 * The principals besides admin who may read a run, each once: the plan's owner, the run's
 * starter and the approvers of the definition the run executes (the audience of its plan.* events).
 */
export function runReaders(planOwner: string, startedBy: string, definition: unknown): string[] {
  return [...new Set([planOwner, startedBy, ...approversOf(definition)])];
}

/**
 * How `principal` may decide an approval step naming `approvers`: as an approver (named, or `'*'`
 * for anyone), as admin overriding approvers that do not include it, or not at all (undefined).
 */
export function approvalRight(approvers: readonly string[], principal: string): 'approver' | 'override' | undefined {
  if (approvers.includes(principal) || approvers.includes('*')) return 'approver';
  return principal === 'admin' ? 'override' : undefined;
}
