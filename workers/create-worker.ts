import path from 'node:path';
import { Worker, type NativeConnection, type WorkerOptions as TemporalWorkerOptions } from '@temporalio/worker';
import type { Activities } from '../activities';

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: Activities;
  /** Poller and cache tuning (benchmarks); Temporal's defaults otherwise. */
  tuning?: Pick<TemporalWorkerOptions, 'maxCachedWorkflows' | 'workflowTaskPollerBehavior' | 'activityTaskPollerBehavior' | 'maxConcurrentActivityTaskExecutions' | 'maxConcurrentWorkflowTaskExecutions'>;
}

/** A worker polling `taskQueue` with every OwnPilot workflow (bundled from workflows/) and activity. */
export function createOwnPilotWorker(options: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    workflowsPath: path.join(__dirname, '..', 'workflows', 'index.ts'),
    activities: options.activities,
    shutdownGraceTime: '10 seconds',
    ...options.tuning,
  });
}
