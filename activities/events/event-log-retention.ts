import type { PrismaClient } from '../../platform/database';
import type { Logger } from '../../platform/logger';

export interface EventLogRetentionOptions {
  prisma: PrismaClient;
  logger: Pick<Logger, 'info' | 'error'>;
  /** Events older than this many days are deleted (config EVENT_LOG_RETENTION_DAYS; 0 = kept forever). */
  retentionDays: number;
  /** Rows deleted per statement, so a long backlog never holds one long lock (default 5,000). */
  batchSize?: number;
}

const DAY_MS = 86_400_000;

/**
 * Keeps event_log, and the plugin delivery claims made for its events, to a retention window:
 * both grow by every event otherwise. Any number of processes may prune at once.
 */
export function createEventLogRetention({ prisma, logger, retentionDays, batchSize = 5_000 }: EventLogRetentionOptions) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;

  /** Deletes in batches until nothing older than `cutoff` is left; returns how many rows went. */
  const deleteOlder = async (cutoff: Date, statement: (cutoff: Date, limit: number) => Promise<number>) => {
    let total = 0;
    let deleted: number;
    do {
      deleted = await statement(cutoff, batchSize);
      total += deleted;
    } while (deleted === batchSize);
    return total;
  };

  const retention = {
    /** Deletes events (and plugin delivery claims) older than the window at `now`; nothing when the window is 0. */
    async prune(now = new Date()): Promise<{ events: number; deliveries: number }> {
      if (retentionDays === 0) return { events: 0, deliveries: 0 };
      const cutoff = new Date(now.getTime() - retentionDays * DAY_MS);
      const events = await deleteOlder(cutoff, (before, limit) => prisma.$executeRaw`
        DELETE FROM event_log WHERE id IN (SELECT id FROM event_log WHERE timestamp < ${before} LIMIT ${limit} FOR UPDATE SKIP LOCKED)`);
      const deliveries = await deleteOlder(cutoff, (before, limit) => prisma.$executeRaw`
        DELETE FROM plugin_event_deliveries WHERE (subscription_id, event_id) IN (
          SELECT subscription_id, event_id FROM plugin_event_deliveries WHERE created_at < ${before} LIMIT ${limit} FOR UPDATE SKIP LOCKED)`);
      if (events + deliveries > 0) logger.info({ events, deliveries, cutoff }, 'event_log pruned to its retention window');
      return { events, deliveries };
    },

    /** Prunes now and then every `intervalMs` (one pass at a time; failures are logged). */
    start(intervalMs: number): void {
      const pass = () => {
        running ??= retention.prune().catch((error: unknown) => logger.error({ err: error }, 'event_log retention pass failed')).finally(() => (running = undefined));
      };
      pass();
      timer = setInterval(pass, intervalMs);
      timer.unref();
    },

    /** Stops the periodic passes and waits for one in progress. */
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
  return retention;
}
export type EventLogRetention = ReturnType<typeof createEventLogRetention>;
