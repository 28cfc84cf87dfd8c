/** A token bucket: `ratePerSecond` tokens refill continuously up to `burst`. */
export function createTokenBucket(ratePerSecond: number, burst: number, now: () => number = () => performance.now()) {
  let tokens = burst;
  let last = now();
  const refill = () => {
    const t = now();
    tokens = Math.min(burst, tokens + ((t - last) / 1000) * ratePerSecond);
    last = t;
  };
  return {
    /** Takes one token if available; never waits. */
    tryTake(): boolean {
      refill();
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
    /** Milliseconds until one token is available (0 when one is available now). */
    msUntilToken(): number {
      refill();
      return tokens >= 1 ? 0 : Math.ceil(((1 - tokens) / ratePerSecond) * 1000);
    },
  };
}
export type TokenBucket = ReturnType<typeof createTokenBucket>;
