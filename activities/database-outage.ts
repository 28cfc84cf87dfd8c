import { Context } from '@temporalio/activity';
import { isDatabaseUnavailable } from '../platform/database-errors';

const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 2000;

/**
 * Runs `fn` inside an activity; while it fails because PostgreSQL is unreachable, heartbeats
 * and runs it again (backoff up to 2 s), so an outage does not use up the activity's retry
 * attempts. Rethrows any other error at once; rejects when the activity is cancelled or the
 * start-to-close timeout ends it. `fn` must be safe to run again (it is what a retry would run).
 */
export async function retryWhileDatabaseUnavailable<T>(fn: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  for (let delay = FIRST_DELAY_MS; ; delay = Math.min(delay * 2, MAX_DELAY_MS)) {
    try {
      return await fn();
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw error;
      ctx.heartbeat();
      await ctx.sleep(delay);
    }
  }
}
