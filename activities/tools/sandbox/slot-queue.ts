import { AppError } from '../../../platform/errors';
import { sandboxError } from './quickjs-sandbox';

export interface SlotQueueOptions {
  /** Slots that may be held at once. */
  slots: number;
  /** Entries that may wait for a slot; one more is refused with UNAVAILABLE. */
  maxWaiting: number;
  /**
   * Levels of nesting (0 = none). A holder at level d may wait on one at level d + 1, so a
   * level-d entry gets a slot only while fewer than `slots - (levels - d)` are held: the last
   * slots are kept for deeper levels, and a parent waiting on its child can never fill them all.
   */
  levels: number;
}

export interface SlotRequest {
  /** Nesting level of the holder, 0 at the top; values past `levels` count as `levels`. */
  level: number;
  /** Epoch ms after which a still waiting entry fails with TOOL_FAILED reason `timeout`. */
  deadline?: number;
  /** Aborting drops a waiting entry with TOOL_FAILED reason `aborted`. */
  signal?: AbortSignal;
}

interface Waiter {
  level: number;
  admit(): void;
}

/**
 * A counting semaphore whose waiters are bounded, expire and are admitted deepest level
 * first (FIFO within a level). Throws at creation when `slots <= levels` (the top level
 * would never get a slot).
 */
export function createSlotQueue({ slots, maxWaiting, levels }: SlotQueueOptions) {
  if (slots <= levels) throw new Error(`a slot queue with ${levels} nesting levels needs more than ${levels} slots (got ${slots})`);
  let held = 0;
  let peak = 0;
  const waiting: Waiter[] = [];
  const fits = (level: number) => held < slots - (levels - Math.min(level, levels));

  const take = (): (() => void) => {
    held += 1;
    peak = Math.max(peak, held);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      held -= 1;
      admitWaiting();
    };
  };

  function admitWaiting(): void {
    for (;;) {
      let next = -1;
      waiting.forEach((w, i) => {
        if (fits(w.level) && (next < 0 || w.level > waiting[next]!.level)) next = i;
      });
      if (next < 0) return;
      waiting.splice(next, 1)[0]!.admit();
    }
  }

  return {
    /** Resolves with an idempotent release function once a slot is held; see SlotRequest for the failures. */
    acquire({ level, deadline, signal }: SlotRequest): Promise<() => void> {
      if (signal?.aborted) return Promise.reject(sandboxError('aborted', 'the tool run was aborted'));
      // Every release admits whoever fits, so nobody at this level or deeper is waiting now.
      if (fits(level)) return Promise.resolve(take());
      if (waiting.length >= maxWaiting) return Promise.reject(new AppError('UNAVAILABLE', `too many sandboxed tool runs are waiting (${maxWaiting}); try again later`));
      return new Promise((resolve, reject) => {
        const leave = (error: AppError) => {
          const at = waiting.indexOf(waiter);
          if (at < 0) return;
          waiting.splice(at, 1);
          done();
          reject(error);
        };
        const onAbort = () => leave(sandboxError('aborted', 'the tool run was aborted'));
        const timer = deadline === undefined ? undefined : setTimeout(() => leave(sandboxError('timeout', 'the tool ran out of its time limit waiting for a free sandbox')), Math.max(0, deadline - Date.now()));
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        };
        const waiter: Waiter = {
          level,
          admit: () => {
            done();
            resolve(take());
          },
        };
        waiting.push(waiter);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },

    /** Slots held and entries waiting now, and the most slots ever held at once. */
    stats(): { held: number; waiting: number; peak: number } {
      return { held, waiting: waiting.length, peak };
    },
  };
}
export type SlotQueue = ReturnType<typeof createSlotQueue>;
