/** A per-key sliding one-minute budget, in memory (per API process). */
export function createRateLimiter(clock: () => number = Date.now) {
  const windows = new Map<string, number[]>();
  return {
    /** Records one hit for `key` and says whether it is within `perMinute`; rejected hits are not counted. */
    tryTake(key: string, perMinute: number): boolean {
      const now = clock();
      const hits = (windows.get(key) ?? []).filter((t) => now - t < 60_000);
      if (hits.length >= perMinute) {
        windows.set(key, hits);
        return false;
      }
      hits.push(now);
      windows.set(key, hits);
      return true;
    },
  };
}
export type RateLimiter = ReturnType<typeof createRateLimiter>;
