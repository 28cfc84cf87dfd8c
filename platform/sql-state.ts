/** A PostgreSQL error as the server reported it: SQLSTATE and the server's own message. */
export interface PostgresError {
  state: string;
  message: string;
}

/**
 * The PostgreSQL error inside an error from node-postgres (`code`) or from Prisma's pg driver
 * adapter (`meta.driverAdapterError.cause.originalCode` / `originalMessage`, or a `cause`
 * chain); undefined when there is none. The message is the server's, never Prisma's (which
 * can quote source locations).
 */
export function postgresErrorOf(error: unknown): PostgresError | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0) {
    const node = queue.shift();
    if (node === null || typeof node !== 'object' || seen.has(node)) continue;
    seen.add(node);
    const { code, originalCode, originalMessage, message, meta, cause } = node as Record<string, unknown> & { meta?: { driverAdapterError?: unknown } };
    if (typeof originalCode === 'string' && /^[0-9A-Z]{5}$/.test(originalCode)) return { state: originalCode, message: String(originalMessage ?? '') };
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !('clientVersion' in node)) return { state: code, message: String(message ?? '') };
    queue.push(meta?.driverAdapterError, cause);
  }
  return undefined;
}
