import type { CheckpointRecord } from '../../workflows/plan-types';

/**
 * plan_checkpoints.outputs holds one of two formats:
 * - `{ "$since": <checkpoint id> | null, "$outputs": { <stepId>: output } }`: the outputs of the
 *   steps that completed after checkpoint `$since` (all of them when null). Written since
 *   checkpoints stopped repeating every output (step ids start with a letter, so `$` keys never
 *   clash with the other format).
 * - `{ <stepId>: output }`: every output at the checkpoint, as rows written before were.
 */
interface StoredDelta {
  $since: string | null;
  $outputs: Record<string, unknown>;
}

type StoredOutputs = StoredDelta | Record<string, unknown>;

function isDelta(stored: StoredOutputs): stored is StoredDelta {
  return Object.prototype.hasOwnProperty.call(stored, '$outputs');
}

/** The plan_checkpoints.outputs value for a checkpoint the workflow recorded. */
export function storedCheckpointOutputs(checkpoint: CheckpointRecord): StoredDelta {
  return { $since: checkpoint.since ?? null, $outputs: checkpoint.outputs };
}

/** A plan_checkpoints row as the rebuild reads it. */
export interface StoredCheckpoint {
  id: string;
  outputs: unknown;
}

/**
 * The outputs of the completed steps at checkpoint `id`: its own row's, merged over those of the
 * chain of `$since` rows before it, down to a row without one (or one in the older, full format).
 * Rows of checkpoints a rollback undid are never on the chain of a later one. Returns undefined
 * when `id` or a row of its chain is not (yet) among `rows`: bookkeeping is written in batches.
 */
export function rebuildCheckpointOutputs(rows: readonly StoredCheckpoint[], id: string): Record<string, unknown> | undefined {
  const byId = new Map(rows.map((row) => [row.id, row.outputs]));
  const chain: Record<string, unknown>[] = [];
  for (let next: string | null = id; next !== null; ) {
    const stored = byId.get(next) as StoredOutputs | null | undefined;
    // A missing link (or, never written, a cycle) leaves the outputs unknown.
    if (stored === undefined || stored === null || chain.length >= byId.size) return undefined;
    if (!isDelta(stored)) {
      chain.push(stored);
      break;
    }
    chain.push(stored.$outputs);
    next = stored.$since;
  }
  return Object.assign({}, ...chain.reverse()) as Record<string, unknown>;
}
