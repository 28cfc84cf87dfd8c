import type { Logger } from '../../platform/logger';
import type { TriggerService } from './trigger-service';

export interface TriggerReconcilerDeps {
  triggers: Pick<TriggerService, 'reconcile'>;
  logger: Pick<Logger, 'info' | 'warn'>;
  /** Time between the end of one pass and the start of the next. */
  intervalMs: number;
}

/**
 * Runs `reconcile()` every `intervalMs` (after each pass ends, so passes never overlap), so a
 * schedule deleted or an orphan created behind the API's back is repaired without a restart.
 * A failing pass is logged and the next one still runs.
 */
export function createTriggerReconciler({ triggers, logger, intervalMs }: TriggerReconcilerDeps) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;

  const pass = async (): Promise<void> => {
    try {
      const result = await triggers.reconcile();
      const changed = result.recreated.length + result.realigned.length + result.repaired.length + result.removed.length + result.failed.length;
      if (changed > 0) logger.info(result, 'trigger schedules reconciled');
    } catch (error) {
      logger.warn({ err: error }, 'trigger schedule reconcile failed');
    }
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = pass().finally(() => {
        running = undefined;
        schedule();
      });
    }, intervalMs);
    timer.unref();
  };

  return {
    /** Starts the periodic passes (the first after one interval); idempotent. */
    start(): void {
      if (!stopped) return;
      stopped = false;
      schedule();
    },

    /** Stops the passes and resolves once a pass in progress has finished. */
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
export type TriggerReconciler = ReturnType<typeof createTriggerReconciler>;
