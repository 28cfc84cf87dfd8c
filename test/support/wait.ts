import { waitFor } from '../../platform/local/wait-for';

/** Waits for `probe` to return a value that `done` accepts; returns it. Never a fixed sleep. */
export async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  let last: T | undefined;
  await waitFor('condition', async () => {
    last = await probe();
    return done(last);
  }, timeoutMs, 50);
  return last as T;
}
