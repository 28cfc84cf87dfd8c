import { patched, workflowInfo } from '@temporalio/workflow';

/**
 * Whether this run has a behaviour added after runs of its workflow were first recorded. A run
 * whose starter stamped the behaviour into its input has it from the start, with no marker in its
 * history: `patched()` records a marker and upserts the TemporalChangeVersion search attribute, a
 * visibility write on every run that reaches it. Runs started before stamping ask `patched()`.
 * A stamped run replayed still calls `patched()` (which records nothing while replaying): it
 * consumes the marker a worker without stamping left when it ran the run, so a rolling upgrade
 * cannot fail it with a nondeterminism error.
 */
export function behavioursOf<B extends string>(stamped: readonly string[] | undefined): (behaviour: B) => boolean {
  return (behaviour) => {
    if (stamped?.includes(behaviour) !== true) return patched(behaviour);
    if (workflowInfo().unsafe.isReplaying) patched(behaviour);
    return true;
  };
}
