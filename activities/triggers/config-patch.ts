/**
 * A PATCH of a trigger's `config`: the fields it names replace the stored ones, a field set to
 * null goes back to its default (or away: `cron`, `intervalSeconds`, `filter`), and the fields
 * it leaves out keep their stored values. Only the top level merges: a `filter`, `expression` or
 * `args` given replaces the stored one whole, so a patch never mixes two filters.
 */
export function patchConfig(stored: unknown, patch: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...(stored !== null && typeof stored === 'object' && !Array.isArray(stored) ? stored : {}) };
  for (const [field, value] of Object.entries(patch)) {
    if (value === null) delete merged[field];
    else merged[field] = value;
  }
  return merged;
}
