import path from 'node:path';
import { Worker, type NativeConnection, type WorkerInterceptors, type WorkerOptions as TemporalWorkerOptions } from '@temporalio/worker';
import type { Activities } from '../activities';

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: Activities;
  /** Activity/workflow interceptors (the worker process adds logging and metrics). */
  interceptors?: WorkerInterceptors;
  /** In-flight activities get this long after SIGTERM before they are cancelled (default 10 s); then as long again before the worker is forced down. */
  shutdownGraceMs?: number;
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
    shutdownGraceTime: options.shutdownGraceMs ?? 10_000,
    shutdownForceTime: (options.shutdownGraceMs ?? 10_000) * 2,
    ...(options.interceptors ? { interceptors: options.interceptors } : {}),
    ...options.tuning,
  });
}
