import pg from 'pg';

/** A small node-postgres pool for statements run without Prisma (the ACL's user SQL, plan bookkeeping); the caller owns `end()`. */
export function createSqlPool(databaseUrl: string, max = 5): pg.Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl, max });
  pool.on('error', () => undefined); // an idle client's lost connection is replaced on next use
  return pool;
}
