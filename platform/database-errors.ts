/** node-postgres / socket error codes that mean "no usable connection", not "bad statement". */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH']);
/** SQLSTATEs of a server that is going away, starting, or full: admin/crash shutdown, cannot connect now, too many connections. */
const SERVER_STATES = new Set(['57P01', '57P02', '57P03', '53300']);
/** Prisma codes: can't reach (P1001), timed out (P1002, P1008), server closed the connection (P1017), pool timeout (P2024). */
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
/** Driver-adapter error kinds (`meta.driverAdapterError.cause.kind`) that mean the connection, not the query, failed. */
const ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
/** node-postgres messages for a connection that died or a pool that could not hand one out. */
const MESSAGES = /Connection terminated|timeout exceeded when trying to connect|not queryable|Can't reach database server/i;

type Loose = { code?: unknown; message?: unknown; kind?: unknown; meta?: { driverAdapterError?: { cause?: Loose } }; cause?: unknown };

function isConnectionLevel(e: Loose): boolean {
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code && (SOCKET_CODES.has(code) || SERVER_STATES.has(code) || PRISMA_CODES.has(code) || code.startsWith('08'))) return true;
  if (typeof e.kind === 'string' && ADAPTER_KINDS.has(e.kind)) return true;
  if (e.kind === 'postgres' && typeof e.code === 'string' && (SERVER_STATES.has(e.code) || e.code.startsWith('08'))) return true;
  return typeof e.message === 'string' && MESSAGES.test(e.message);
}

/**
 * True when `error` (a Prisma, driver-adapter or node-postgres error, or one caused by such)
 * says PostgreSQL could not be reached or dropped the connection: a retry may succeed once it
 * is back. False for errors about the statement or data (constraint, syntax, not found...).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current !== null && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    const e = current as Loose;
    if (isConnectionLevel(e)) return true;
    const adapterCause = e.meta?.driverAdapterError?.cause;
    if (adapterCause && isConnectionLevel(adapterCause)) return true;
    current = e.cause;
  }
  return false;
}

/**
 * True for a unique-key violation: Prisma's P2002 (model calls), a raw query's adapter error of
 * kind UniqueConstraintViolation (P2010), or node-postgres SQLSTATE 23505.
 */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as Loose | undefined;
  return e?.code === 'P2002' || e?.code === '23505' || e?.meta?.driverAdapterError?.cause?.kind === 'UniqueConstraintViolation';
}
