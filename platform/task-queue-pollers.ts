import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

/** A worker long-polls for about a minute at a time, so a live one was seen within this long. */
const LIVE_POLLER_MS = 2 * 60_000;

/**
 * Identities (`<pid>@<host>` by default) of the workers that polled `taskQueue` for workflow
 * tasks lately: the server also lists pollers of the last minutes that may be gone, so only
 * those seen within LIVE_POLLER_MS count.
 */
export async function pollingWorkers(client: Client, taskQueue: string, now = Date.now()): Promise<string[]> {
  const { pollers } = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return pollers
    .filter((p) => {
      const seconds = p.lastAccessTime?.seconds;
      const at = seconds === undefined || seconds === null ? 0 : (typeof seconds === 'number' ? seconds : seconds.toNumber()) * 1000;
      return now - at <= LIVE_POLLER_MS;
    })
    .map((p) => p.identity ?? '');
}

/** Whether the worker process `pid` (SDK default identity `<pid>@<host>`) polls `taskQueue`, i.e. a run started now is picked up. */
export async function workerPolls(client: Client, taskQueue: string, pid: number): Promise<boolean> {
  return (await pollingWorkers(client, taskQueue)).some((identity) => identity.startsWith(`${pid}@`));
}
