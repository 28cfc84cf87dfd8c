import type { Client } from '@temporalio/client';
import { percentiles } from './bench-types';

type HistoryEvent = NonNullable<Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>['events']>[number];

const millis = (event: HistoryEvent): number => {
  const t = event.eventTime;
  return Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);
};

/**
 * Where a workflow's time went, from the server's own event times: start → first activity
 * scheduled, each activity scheduled → completed, the gaps between activities, last activity →
 * closed. Phases are named by position so runs of one shape line up.
 */
function phasesOf(events: HistoryEvent[]): Map<string, number> {
  const phases = new Map<string, number>();
  const start = millis(events[0]!);
  let last = start;
  let lastName = 'start';
  let activity = 0;
  for (const event of events) {
    if (event.activityTaskScheduledEventAttributes) {
      activity++;
      phases.set(`${lastName} → activity ${activity} scheduled`, millis(event) - last);
      last = millis(event);
    } else if (event.activityTaskCompletedEventAttributes) {
      phases.set(`activity ${activity} scheduled → completed`, millis(event) - last);
      last = millis(event);
      lastName = `activity ${activity} completed`;
    } else if (event.workflowExecutionCompletedEventAttributes) {
      phases.set(`${lastName} → workflow closed`, millis(event) - last);
    }
  }
  phases.set('total (server time)', millis(events[events.length - 1]!) - start);
  return phases;
}

/** Median of every phase over the given workflow runs, as `name: p50 ms` lines in history order. */
export async function medianTimeline(client: Client, workflowIds: readonly string[]): Promise<string[]> {
  const byPhase = new Map<string, number[]>();
  for (const id of workflowIds) {
    const history = await client.workflow.getHandle(id).fetchHistory();
    for (const [name, ms] of phasesOf(history.events ?? [])) byPhase.set(name, [...(byPhase.get(name) ?? []), ms]);
  }
  return [...byPhase].map(([name, samples]) => `${name}: p50 ${percentiles(samples).p50} ms`);
}
