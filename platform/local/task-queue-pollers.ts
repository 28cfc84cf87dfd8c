import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

/**
 * Whether the worker process `pid` polls `taskQueue` for workflow tasks, i.e. a run started now
 * is picked up. Matched by the SDK's default worker identity `<pid>@<host>`: the server also
 * lists pollers of the last minutes, which may be a worker that is gone.
 */
export async function workerPolls(client: Client, taskQueue: string, pid: number): Promise<boolean> {
  const { pollers } = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return pollers.some((poller) => poller.identity?.startsWith(`${pid}@`) === true);
}
