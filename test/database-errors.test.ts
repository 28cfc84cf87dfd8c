import pg from 'pg';
import { createPrisma } from '../platform/database';
import { isDatabaseUnavailable, isUniqueViolation } from '../platform/database-errors';
import { freePort } from '../platform/local/ports';
import { stackInfo } from './support/stack-info';

// Real errors from real clients: a port nobody listens on, and the run's PostgreSQL.
describe('isDatabaseUnavailable', () => {
  test('connection-level failures from node-postgres and Prisma are "unavailable"', async () => {
    const url = new URL(stackInfo().databaseUrl);
    url.port = String(await freePort());
    const client = new pg.Client({ connectionString: url.toString() });
    const refused = await client.connect().then(() => undefined, (error: unknown) => error);
    expect(isDatabaseUnavailable(refused)).toBe(true);

    const prisma = createPrisma(url.toString(), 1);
    try {
      for (const query of [() => prisma.plan.findMany(), () => prisma.$queryRaw`SELECT 1`, () => prisma.$transaction(async (tx) => tx.plan.count())]) {
        const error = await query().then(() => undefined, (e: unknown) => e);
        expect(error).toBeDefined();
        expect(isDatabaseUnavailable(error)).toBe(true);
      }
    } finally {
      await prisma.$disconnect();
    }

    const terminated = new pg.Client({ connectionString: stackInfo().databaseUrl });
    await terminated.connect();
    terminated.on('error', () => undefined);
    const killer = new pg.Client({ connectionString: stackInfo().databaseUrl });
    await killer.connect();
    const pid = (await terminated.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    await killer.query('SELECT pg_terminate_backend($1)', [pid]);
    await killer.end();
    const dropped = await terminated.query('SELECT 1').then(() => undefined, (e: unknown) => e);
    expect(dropped).toBeDefined();
    expect(isDatabaseUnavailable(dropped)).toBe(true);
  });

  test('errors about the statement or the data are not', async () => {
    const prisma = createPrisma(stackInfo().databaseUrl, 1);
    try {
      const syntax = await prisma.$queryRawUnsafe('SELEC 1').then(() => undefined, (e: unknown) => e);
      const missing = await prisma.plan.update({ where: { id: 'no-such-plan' }, data: { name: 'x' } }).then(() => undefined, (e: unknown) => e);
      for (const error of [syntax, missing, new Error('boom'), undefined, 'text']) expect(isDatabaseUnavailable(error)).toBe(false);
    } finally {
      await prisma.$disconnect();
    }
  });
});

// Real duplicates through each client the services use: Prisma model calls, Prisma raw queries, node-postgres.
describe('isUniqueViolation', () => {
  test('a duplicate key is recognised from a model call, a raw query and node-postgres; other errors are not', async () => {
    const prisma = createPrisma(stackInfo().databaseUrl, 1);
    const client = new pg.Client({ connectionString: stackInfo().databaseUrl });
    await client.connect();
    const id = `dup-${Date.now()}`;
    try {
      await prisma.plan.create({ data: { id, name: 'dup', definition: {}, version: 1, maxConcurrentRuns: 1, createdBy: 'test' } });
      const model = await prisma.plan.create({ data: { id, name: 'dup', definition: {}, version: 1, maxConcurrentRuns: 1, createdBy: 'test' } }).then(() => undefined, (e: unknown) => e);
      const raw = await prisma.$queryRaw`WITH i AS (INSERT INTO plans (id, name, definition) VALUES (${id}, 'dup', '{}'::jsonb) RETURNING 1) SELECT 1`.then(() => undefined, (e: unknown) => e);
      const driver = await client.query(`INSERT INTO plans (id, name, definition) VALUES ($1, 'dup', '{}'::jsonb)`, [id]).then(() => undefined, (e: unknown) => e);
      for (const error of [model, raw, driver]) expect(isUniqueViolation(error)).toBe(true);
      const syntax = await prisma.$queryRawUnsafe('SELEC 1').then(() => undefined, (e: unknown) => e);
      for (const error of [syntax, new Error('duplicate key value violates unique constraint'), undefined]) expect(isUniqueViolation(error)).toBe(false);
    } finally {
      await prisma.plan.deleteMany({ where: { id } });
      await client.end();
      await prisma.$disconnect();
    }
  });
});
