/**
 * Runs tasks one at a time per key, in arrival order; different keys run concurrently. A task's
 * failure reaches its caller only, never the tasks queued behind it. Keys with nothing queued
 * are forgotten, so the map never outgrows the keys in use.
 */
export function createKeyedSerializer() {
  const tails = new Map<string, Promise<void>>();
  return {
    /** Resolves or rejects with `task`'s outcome once every earlier task of `key` has settled. */
    run<T>(key: string, task: () => Promise<T>): Promise<T> {
      const result = (tails.get(key) ?? Promise.resolve()).then(task);
      const tail = result.then(() => undefined, () => undefined);
      tails.set(key, tail);
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key);
      });
      return result;
    },
    /** Keys with a task running or queued. */
    get size(): number {
      return tails.size;
    },
  };
}
export type KeyedSerializer = ReturnType<typeof createKeyedSerializer>;
