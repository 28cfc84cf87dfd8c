export interface WriteBatcherOptions<T> {
  /**
   * Writes one batch. A batch of several items that is rejected (other than by an outage) is split
   * in halves, each written on its own, so an item the store refuses drops only itself; a single
   * item is retried `retries` times, then dropped and counted.
   */
  write(batch: T[]): Promise<void>;
  /** Flush as soon as this many items are buffered. */
  maxBatchSize: number;
  /** Longest an item waits in the buffer before a flush starts (0 = next turn of the event loop). */
  flushDelayMs: number;
  /** Items beyond this many buffered are dropped (and counted) instead of blocking the caller. */
  maxBuffered: number;
  retries: number;
  /** Errors that mean the store is away for now (not that the batch is bad): retried without counting against `retries`, for up to `outageMs`. */
  isOutage?(error: unknown): boolean;
  /** How long one batch waits out an outage before it is dropped (0 = outages count like any error). */
  outageMs?: number;
  onDropped(count: number, error: unknown): void;
}

/** Told once an item is written (`true`) or dropped (`false`). */
export type WriteDone = (written: boolean) => void;

interface Entry<T> {
  item: T;
  done?: WriteDone;
}

const MAX_RETRY_DELAY_MS = 2000;

/**
 * Group-commit buffer: `add` never blocks; one write is in flight at a time and takes everything
 * buffered meanwhile (up to `maxBatchSize`), so batches grow with load and latency stays low.
 * While the store is away (`isOutage`), items keep buffering (up to `maxBuffered`) and are
 * written once it is back, if that is within `outageMs`. Items are written in the order added.
 */
export function createWriteBatcher<T>(options: WriteBatcherOptions<T>) {
  let buffer: Entry<T>[] = [];
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  let inFlight: Promise<void> | undefined;
  const stats = { written: 0, batches: 0, dropped: 0, failedAttempts: 0, splits: 0 };

  /** Writes `batch` (split on a refusal, see `write`); returns once every item is written or dropped. */
  const writeSettled = async (batch: Entry<T>[]): Promise<void> => {
    let lastError: unknown;
    const outageUntil = Date.now() + (options.outageMs ?? 0);
    for (let attempt = 0, tries = 0; ; tries++) {
      try {
        await options.write(batch.map((b) => b.item));
        stats.written += batch.length;
        stats.batches++;
        for (const b of batch) b.done?.(true);
        return;
      } catch (error) {
        stats.failedAttempts++;
        lastError = error;
        const outage = options.isOutage?.(error) === true;
        if (!outage && batch.length > 1) {
          stats.splits++;
          const half = Math.ceil(batch.length / 2);
          await writeSettled(batch.slice(0, half));
          await writeSettled(batch.slice(half));
          return;
        }
        if (!(outage && Date.now() < outageUntil) && attempt++ >= options.retries) break;
        await new Promise((resolve) => setTimeout(resolve, Math.min(50 * 2 ** tries, MAX_RETRY_DELAY_MS)));
      }
    }
    stats.dropped += batch.length;
    options.onDropped(batch.length, lastError);
    for (const b of batch) b.done?.(false);
  };

  const pump = (): Promise<void> => {
    if (inFlight) return inFlight;
    if (timer) clearTimeout(timer);
    if (immediate) clearImmediate(immediate);
    timer = immediate = undefined;
    if (buffer.length === 0) return Promise.resolve();
    const batch = buffer.length <= options.maxBatchSize ? buffer : buffer.slice(0, options.maxBatchSize);
    buffer = batch === buffer ? [] : buffer.slice(options.maxBatchSize);
    inFlight = writeSettled(batch).finally(() => {
      inFlight = undefined;
      if (buffer.length > 0) void pump();
    });
    return inFlight;
  };

  const schedule = () => {
    if (inFlight || timer || immediate) return; // the in-flight write pumps again when it finishes
    if (buffer.length >= options.maxBatchSize) void pump();
    else if (options.flushDelayMs > 0) timer = setTimeout(() => void pump(), options.flushDelayMs);
    else immediate = setImmediate(() => void pump());
  };

  return {
    /** Buffers an item; `done` says whether it was written. Drops (and counts) beyond `maxBuffered`. */
    add(item: T, done?: WriteDone): void {
      if (buffer.length >= options.maxBuffered) {
        stats.dropped++;
        options.onDropped(1, new Error('write buffer full'));
        done?.(false);
        return;
      }
      buffer.push({ item, done });
      schedule();
    },

    /** Resolves once everything buffered before the call has been written (or dropped). */
    async flush(): Promise<void> {
      while (buffer.length > 0 || inFlight) await pump();
    },

    /** Counters plus the current buffer depth. */
    stats() {
      return { ...stats, buffered: buffer.length };
    },
  };
}
export type WriteBatcher<T> = ReturnType<typeof createWriteBatcher<T>>;
