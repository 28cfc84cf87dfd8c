import { Context } from '@temporalio/activity';

const HEARTBEAT_EVERY_MS = 1000;

/**
 * Runs `fn` inside an activity while heartbeating every second, whatever `fn` does, so a lost
 * worker shows at the activity's heartbeat timeout instead of its start-to-close deadline.
 * `fn` gets the activity's cancellation signal.
 */
export async function whileHeartbeating<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const beat = setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
  try {
    return await fn(ctx.cancellationSignal);
  } finally {
    clearInterval(beat);
  }
}
