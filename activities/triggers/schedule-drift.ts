import { isDeepStrictEqual } from 'node:util';
import type { Client, ScheduleDescription, ScheduleOptions } from '@temporalio/client';
import { newId } from '../../platform/ids';

/** The parts of a schedule that can drift from what its trigger row produces. */
export type SchedulePart = 'spec' | 'policies' | 'action';

/** Prefix of the short-lived schedules that let Temporal normalise a spec (not `trigger-`, so reconcile never treats one as an orphan). */
export const SPEC_PROBE_PREFIX = 'ownpilot-spec-probe-';
const MAX_CACHED_SPECS = 10_000;

/** Plain JSON without empty values (undefined, {}, []), so the SDK's empty defaults equal an unset field. */
function plain(value: unknown): unknown {
  const json: unknown = JSON.parse(JSON.stringify(value ?? null));
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return json;
  return Object.fromEntries(Object.entries(json).filter(([, v]) => !(v !== null && typeof v === 'object' && Object.keys(v).length === 0)));
}

/**
 * Finds where an existing Temporal Schedule differs from the options its trigger row produces
 * (scheduleOptionsFor). Temporal stores specs normalised (a cron string becomes structured
 * calendars, `'3600s'` becomes `{ every: 3600000 }`), so the wanted spec and policies are
 * normalised by Temporal itself: a paused probe schedule is created with them, described and
 * deleted, and the result is cached per distinct spec. A copy of Temporal's cron grammar here
 * would sooner or later disagree with the server's and report drift on every pass.
 */
export function createScheduleDriftCheck({ temporal }: { temporal: Pick<Client, 'schedule'> }) {
  const cache = new Map<string, Pick<ScheduleDescription, 'spec' | 'policies'>>();

  async function normalised({ spec, policies, action }: ScheduleOptions): Promise<Pick<ScheduleDescription, 'spec' | 'policies'>> {
    const key = JSON.stringify({ spec, policies });
    const hit = cache.get(key);
    if (hit) return hit;
    const scheduleId = `${SPEC_PROBE_PREFIX}${newId()}`;
    // Paused, and deleted right after: the probe never takes an action.
    await temporal.schedule.create({ scheduleId, spec, policies, action, state: { paused: true, note: 'spec normalisation probe' } });
    try {
      const { spec: probeSpec, policies: probePolicies } = await temporal.schedule.getHandle(scheduleId).describe();
      if (cache.size >= MAX_CACHED_SPECS) cache.clear();
      cache.set(key, { spec: probeSpec, policies: probePolicies });
      return { spec: probeSpec, policies: probePolicies };
    } finally {
      await temporal.schedule.getHandle(scheduleId).delete().catch(() => undefined);
    }
  }

  return {
    /**
     * Asks Temporal how it stores `wanted` (a probe, unless cached) and returns the check that
     * finds the parts of a described schedule differing from it; empty when the schedule is as the
     * row says. The paused state is not compared. Split in two so that the probe's round trips can
     * run before a caller takes a row lock, and only the comparison under it.
     */
    async against(wanted: ScheduleOptions): Promise<(described: ScheduleDescription) => SchedulePart[]> {
      const expected = await normalised(wanted);
      return (described) => {
        const parts: SchedulePart[] = [];
        if (!isDeepStrictEqual(plain(described.spec), plain(expected.spec))) parts.push('spec');
        if (!isDeepStrictEqual(plain(described.policies), plain(expected.policies))) parts.push('policies');
        // Every action field counts: one scheduleOptionsFor leaves unset (memo, search attributes, timeouts) must be unset in Temporal too.
        if (!isDeepStrictEqual(plain(described.action), plain(wanted.action))) parts.push('action');
        return parts;
      };
    },
  };
}
export type ScheduleDriftCheck = ReturnType<typeof createScheduleDriftCheck>;
