import type { PrismaClient } from '../../platform/database';

/** A point a test holds a call at (`reached()` then `await opened`) until it opens the gate; `at` resolves once the call is there. */
export function gate() {
  let reached!: () => void;
  let open!: () => void;
  const at = new Promise<void>((resolve) => (reached = resolve));
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { at, reached, opened, open };
}

/**
 * A Prisma client whose next call of `model.method` (or of any of several methods) answers, then waits until the test opens the
 * gate: the way to put another request between a service's read and the write that follows it.
 * `at` resolves once the held call has its answer; `arm()` holds the next call again. With `match`,
 * only a call whose arguments it accepts is held (e.g. the read of one row among many).
 */
export function holdRead<M extends keyof PrismaClient>(
  prisma: PrismaClient,
  model: M,
  method: string | string[],
  options: { armed?: boolean; match?: (args: unknown[]) => boolean } = {},
) {
  const methods: unknown[] = typeof method === 'string' ? [method] : method;
  const { at, reached, opened, open } = gate();
  let armed = options.armed ?? true;
  const held = new Proxy(prisma[model] as object, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (!methods.includes(prop) || typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const result: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        if (armed && (options.match?.(args) ?? true)) {
          armed = false;
          reached();
          await opened;
        }
        return result;
      };
    },
  });
  const client = new Proxy(prisma, { get: (target, prop) => (prop === model ? held : (Reflect.get(target, prop) as unknown)) });
  return { prisma: client, at, open, arm: () => void (armed = true) };
}
