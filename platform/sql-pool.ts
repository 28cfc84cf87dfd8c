import pg from 'pg';

/** A small node-postgres pool for statements the ACL runs itself (not through Prisma); the caller owns `end()`. */
export function createSqlPool(databaseUrl: string, max = 5): pg.Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl, max });
  pool.on('error', () => undefined); // an idle client's lost connection is replaced on next use
  return pool;
}
