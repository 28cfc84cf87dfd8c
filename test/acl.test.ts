import { createHash } from 'node:crypto';
import type { Express } from 'express';
import { createApp } from '../api/app';
import { createAclActivities } from '../activities/acl/acl-activities';
import { startDatabaseAcl } from '../activities/acl/acl-runtime';
import { createDatabaseAcl } from '../activities/acl/acl-service';
import { runStatement } from '../activities/acl/query-executor';
import { ADMIN_QUERY_ROLE, queryRoleOf } from '../activities/acl/query-roles';
import { createApiKeyService } from '../activities/auth/api-key-service';
import { createPlanService } from '../activities/plans/plan-service';
import { createPluginService } from '../activities/plugins/plugin-service';
import { loadConfig } from '../platform/config';
import { AppError } from '../platform/errors';
import { newId } from '../platform/ids';
import { createLogger } from '../platform/logger';
import { authed, createTestKey } from './support/api-auth';
import { stackInfo } from './support/stack-info';
import { openTestStack, type TestStack } from './support/test-stack';
import { eventually } from './support/wait';

const run = newId(6).replace(/[^a-z0-9]/g, 'x');
const alpha = `alpha${run}`;
const beta = `beta${run}`;
const alphaNotes = `plugin_${alpha}_notes`;
const betaItems = `plugin_${beta}_items`;

const notesSpec = {
  name: 'notes',
  columns: [
    { name: 'id', type: 'serial', primaryKey: true },
    { name: 'title', type: 'text', nullable: false },
    { name: 'body', type: 'json' },
    { name: 'status', type: 'text', default: { literal: "new'); DROP TABLE api_keys; --" } },
    { name: 'created_at', type: 'timestamp', default: { expression: 'now()' } },
  ],
  indexes: [['title']],
};

describe('database ACL', () => {
  let stack: TestStack;
  let app: Express;
  let keys: Record<'admin' | 'alpha' | 'beta' | 'carol' | 'dave', ReturnType<typeof authed>>;

  async function count(table: string): Promise<number> {
    const rows = await stack.prisma.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM "${table}"`);
    return Number(rows[0]!.n);
  }
  async function relations(): Promise<number> {
    const rows = await stack.prisma.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM pg_class WHERE relnamespace = 'public'::regnamespace`;
    return Number(rows[0]!.n);
  }

  beforeAll(async () => {
    stack = await openTestStack();
    const keyService = createApiKeyService({ prisma: stack.prisma });
    app = createApp({
      logger: createLogger('test', 'silent'),
      health: { postgres: async () => ({}), temporal: async () => ({}) },
      plans: createPlanService({ prisma: stack.prisma, temporal: stack.client, taskQueue: stack.taskQueue, tools: stack.tools }),
      tools: stack.tools,
      resources: stack.resources,
      events: stack.bus,
      plugins: createPluginService({ prisma: stack.prisma, temporal: stack.client, taskQueue: stack.taskQueue, events: stack.bus, pluginTools: stack.tools }),
      keys: keyService,
      acl: stack.acl,
    });
    keys = {
      admin: authed(app, await createTestKey(keyService, 'admin')),
      alpha: authed(app, await createTestKey(keyService, `plugin:${alpha}`)),
      beta: authed(app, await createTestKey(keyService, `plugin:${beta}`)),
      carol: authed(app, await createTestKey(keyService, 'user:carol')),
      dave: authed(app, await createTestKey(keyService, 'user:dave')),
    };
    await stack.acl.createPluginTable(alpha, notesSpec);
    await stack.acl.createPluginTable(beta, { name: 'items', columns: [{ name: 'id', type: 'serial', primaryKey: true }, { name: 'label', type: 'text' }] });
  });
  afterAll(() => stack.close());

  describe('plugin tables', () => {
    test('createPluginTable builds the table from the spec, records it as protected and emits table_created', async () => {
      expect(await stack.acl.getTableMetadata(alphaNotes)).toMatchObject({ name: alphaNotes, accessLevel: 'protected', ownerId: `plugin:${alpha}`, isSystem: false });
      const created = stack.events.ofType('database.table_created').find((e) => (e.data as { table: string }).table === alphaNotes);
      expect(created).toMatchObject({ source: 'database-acl', data: { ownerId: `plugin:${alpha}`, accessLevel: 'protected' } });
      // The literal default holding an injection string is a value, not SQL: api_keys still exists.
      const inserted = await stack.acl.executeQuery(`INSERT INTO ${alphaNotes} (title) VALUES ($1) RETURNING status, id`, ['first'], `plugin:${alpha}`);
      expect(inserted.rows[0]).toMatchObject({ status: "new'); DROP TABLE api_keys; --" });
      expect(await stack.prisma.apiKey.count()).toBeGreaterThan(0);
    });

    test('a retried create with the same spec is a no-op; a different spec or a taken name conflicts', async () => {
      expect(await stack.acl.createPluginTable(alpha, notesSpec)).toEqual({ table: alphaNotes, created: false });
      await expect(stack.acl.createPluginTable(alpha, { ...notesSpec, columns: [{ name: 'x', type: 'text' }], indexes: [] })).rejects.toMatchObject({ code: 'CONFLICT' });
    });

    test.each([
      ['a quote in a column name', { name: 't1', columns: [{ name: 'a"; DROP TABLE api_keys; --', type: 'text' }] }],
      ['a quote in the table name', { name: "t'); DROP TABLE plans; --", columns: [{ name: 'a', type: 'text' }] }],
      ['an unknown type', { name: 't2', columns: [{ name: 'a', type: 'text; DROP TABLE plans' }] }],
      ['a SQL default expression', { name: 't3', columns: [{ name: 'a', type: 'text', default: { expression: 'pg_sleep(10)' } }] }],
      ['a pg_ name', { name: 'pg_shadow', columns: [{ name: 'a', type: 'text' }] }],
      ['upper case', { name: 'Notes', columns: [{ name: 'a', type: 'text' }] }],
      ['extra keys', { name: 't4', columns: [{ name: 'a', type: 'text', check: '1=1' }] }],
      ['duplicate columns', { name: 't5', columns: [{ name: 'a', type: 'text' }, { name: 'a', type: 'int' }] }],
      ['no columns', { name: 't6', columns: [] }],
    ])('a spec with %s is rejected and creates nothing', async (_name, spec) => {
      const before = await relations();
      const metadata = await stack.prisma.tableMetadata.count();
      await expect(stack.acl.createPluginTable(alpha, spec)).rejects.toThrow();
      expect(await relations()).toBe(before);
      expect(await stack.prisma.tableMetadata.count()).toBe(metadata);
    });

    test('an over-long name is UNPROCESSABLE and a bad plugin id is rejected before any SQL', async () => {
      await expect(stack.acl.createPluginTable(alpha, { name: 'x'.repeat(60), columns: [{ name: 'a', type: 'text' }] })).rejects.toMatchObject({ code: 'UNPROCESSABLE' });
      await expect(stack.acl.createPluginTable('Evil"; DROP TABLE plans; --', { name: 'x', columns: [{ name: 'a', type: 'text' }] })).rejects.toThrow();
    });

    test('a failing DDL leaves no half-created table and no metadata (one transaction)', async () => {
      // CREATE TABLE succeeds, then CREATE INDEX collides with a relation planted under the index's name.
      const table = `plugin_${alpha}_half`;
      const indexName = `idx_${createHash('sha256').update(table).digest('hex').slice(0, 12)}_0`;
      await stack.prisma.$executeRawUnsafe(`CREATE TABLE "${indexName}" (id int)`);
      try {
        await expect(stack.acl.createPluginTable(alpha, { name: 'half', columns: [{ name: 'doc', type: 'text' }], indexes: [['doc']] })).rejects.toThrow();
        expect(await stack.prisma.$queryRaw`SELECT to_regclass(${table})::text AS r`).toEqual([{ r: null }]);
        expect(await stack.prisma.tableMetadata.findUnique({ where: { tableName: table } })).toBeNull();
      } finally {
        await stack.prisma.$executeRawUnsafe(`DROP TABLE "${indexName}"`);
      }
    });

    test('only the owner drops a plugin table; dropping twice is a no-op; dropPluginTables removes the rest', async () => {
      await stack.acl.createPluginTable(alpha, { name: 'scratch', columns: [{ name: 'a', type: 'text' }] });
      // beta may not read it, so to beta it does not exist.
      await expect(stack.acl.dropTable(`plugin_${alpha}_scratch`, `plugin:${beta}`)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(stack.acl.dropTable(`plugin_${alpha}_scratch`, 'admin')).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await expect(stack.acl.dropTable('plans', 'admin')).rejects.toMatchObject({ code: 'FORBIDDEN' });
      expect(await stack.acl.dropPluginTable(alpha, 'scratch')).toEqual({ table: `plugin_${alpha}_scratch`, dropped: true });
      expect(await stack.acl.dropPluginTable(alpha, 'scratch')).toEqual({ table: `plugin_${alpha}_scratch`, dropped: false });
      expect(stack.events.ofType('database.table_dropped').map((e) => (e.data as { table: string }).table)).toContain(`plugin_${alpha}_scratch`);

      const gamma = `gamma${run}`;
      await stack.acl.createPluginTable(gamma, { name: 'a', columns: [{ name: 'a', type: 'text' }] });
      await stack.acl.createPluginTable(gamma, { name: 'b', columns: [{ name: 'b', type: 'text' }] });
      expect((await stack.acl.dropPluginTables(gamma)).sort()).toEqual([`plugin_${gamma}_a`, `plugin_${gamma}_b`]);
      expect(await stack.prisma.tableMetadata.count({ where: { ownerId: `plugin:${gamma}` } })).toBe(0);
      const left = await stack.prisma.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM pg_tables WHERE tablename LIKE ${`plugin_${gamma}_%`}`;
      expect(Number(left[0]!.n)).toBe(0);
    });
  });

  describe('access rules', () => {
    test('canRead/canWrite/canDelete follow the levels', async () => {
      const a = `plugin:${alpha}`;
      const b = `plugin:${beta}`;
      expect([await stack.acl.canRead(alphaNotes, a), await stack.acl.canWrite(alphaNotes, a), await stack.acl.canDelete(alphaNotes, a)]).toEqual([true, true, true]);
      expect([await stack.acl.canRead(alphaNotes, b), await stack.acl.canWrite(alphaNotes, b), await stack.acl.canDelete(alphaNotes, b)]).toEqual([false, false, false]);
      expect([await stack.acl.canRead(alphaNotes, 'admin'), await stack.acl.canWrite(alphaNotes, 'admin')]).toEqual([true, false]);
      expect([await stack.acl.canRead('plans', 'admin'), await stack.acl.canWrite('plans', 'admin'), await stack.acl.canDelete('plans', 'admin')]).toEqual([true, false, false]);
      expect(await stack.acl.canRead('plans', 'user:carol')).toBe(false);
      expect(await stack.acl.canRead('api_keys', 'admin')).toBe(false);
      expect(await stack.acl.canRead('no_such_table', 'admin')).toBe(false);
    });

    test('another plugin reads only after an explicit grant, and never writes a protected table', async () => {
      const b = `plugin:${beta}`;
      const denied = await keys.beta.post('/api/v1/db/query').send({ sql: `SELECT * FROM ${alphaNotes}` });
      expect(denied.status).toBe(403);
      expect(denied.body.error).toMatchObject({ code: 'FORBIDDEN', details: { denied: [{ table: alphaNotes, privilege: 'read' }] } });
      const audit = await stack.prisma.aclAudit.findFirst({ where: { requesterId: b, outcome: 'denied', tableNames: { has: alphaNotes } } });
      expect(audit).toMatchObject({ action: 'query', statement: `SELECT * FROM ${alphaNotes}` });
      expect(stack.events.ofType('database.access_denied').some((e) => (e.data as { requesterId: string }).requesterId === b)).toBe(true);

      await keys.beta.post(`/api/v1/acl/tables/${alphaNotes}/grants`).send({ grantee: b, privilege: 'read' }).expect(404); // may not read it: as if missing
      await keys.alpha.post(`/api/v1/acl/tables/${alphaNotes}/grants`).send({ grantee: b, privilege: 'write' }).expect(422);
      await keys.alpha.post(`/api/v1/acl/tables/${alphaNotes}/grants`).send({ grantee: b, privilege: 'read' }).expect(204);
      const read = await keys.beta.post('/api/v1/db/query').send({ sql: `SELECT title FROM ${alphaNotes} WHERE title = $1`, params: ['first'] }).expect(200);
      expect(read.body).toMatchObject({ kind: 'select', rowCount: 1, rows: [{ title: 'first' }] });

      const rows = await count(alphaNotes);
      for (const sql of [`INSERT INTO ${alphaNotes} (title) VALUES ('x')`, `UPDATE ${alphaNotes} SET title = 'x'`, `DELETE FROM ${alphaNotes}`]) {
        expect((await keys.beta.post('/api/v1/db/query').send({ sql })).status).toBe(403);
      }
      expect(await count(alphaNotes)).toBe(rows);

      const trail = await keys.admin.get('/api/v1/acl/audit').query({ requesterId: b, outcome: 'denied' }).expect(200);
      expect(trail.body.entries.length).toBeGreaterThanOrEqual(4);
      expect(trail.body.entries.every((e: { requesterId: string; outcome: string }) => e.requesterId === b && e.outcome === 'denied')).toBe(true);
      expect((await keys.beta.get('/api/v1/acl/audit')).status).toBe(403);
      await keys.alpha.delete(`/api/v1/acl/tables/${alphaNotes}/grants`).send({ grantee: b, privilege: 'read' }).expect(204);
      expect((await keys.beta.post('/api/v1/db/query').send({ sql: `SELECT * FROM ${alphaNotes}` })).status).toBe(403);
    });

    test('locked tables: admin may read, nobody may write, credentials are unreadable', async () => {
      const plans = await count('plans');
      const read = await keys.admin.post('/api/v1/db/query').send({ sql: 'SELECT count(*)::int AS n FROM plans' }).expect(200);
      expect(read.body.rows[0].n).toBe(plans);
      expect((await keys.carol.post('/api/v1/db/query').send({ sql: 'SELECT * FROM plans' })).status).toBe(403);
      for (const sql of [
        "INSERT INTO plans (id, name, definition) VALUES ('evil', 'evil', '{}')",
        "UPDATE plans SET name = 'evil'",
        'DELETE FROM plans',
        "WITH x AS (DELETE FROM plans RETURNING id) SELECT * FROM x",
        'SELECT * FROM api_keys',
        'SELECT key_hash FROM public.api_keys',
      ]) {
        const res = await keys.admin.post('/api/v1/db/query').send({ sql });
        expect([sql, res.status]).toEqual([sql, 403]);
      }
      expect(await count('plans')).toBe(plans);
    });

    test('a locked table added after migration 0003 becomes admin-readable once the query role is synced', async () => {
      const table = `later_${run}`;
      await stack.prisma.$executeRawUnsafe(`CREATE TABLE "${table}" (id int)`);
      await stack.prisma.tableMetadata.create({ data: { tableName: table, accessLevel: 'locked', schemaDefinition: [], isSystem: true } });
      await expect(stack.acl.executeQuery(`SELECT * FROM ${table}`, [], 'admin')).rejects.toMatchObject({ code: 'FORBIDDEN' }); // PostgreSQL refuses
      const [first, second] = await Promise.all([stack.acl.syncQueryRoleGrants(), stack.acl.syncQueryRoleGrants()]); // as API and worker at start
      expect([...first, ...second].filter((t) => t === table)).toEqual([table]);
      expect(await stack.acl.syncQueryRoleGrants()).not.toContain(table);
      expect((await stack.acl.executeQuery(`SELECT * FROM ${table}`, [], 'admin')).rows).toEqual([]);
      await expect(stack.acl.executeQuery(`INSERT INTO ${table} VALUES (1)`, [], 'admin')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    });

    test('values are parameters: injection strings are stored verbatim', async () => {
      const evil = ["'); DROP TABLE plans; --", 'x\'; DELETE FROM api_keys; SELECT \'', '$1; $2', '\\\'; TRUNCATE plans; --'];
      const keysBefore = await stack.prisma.apiKey.count();
      for (const value of evil) {
        const res = await keys.alpha.post('/api/v1/db/query').send({ sql: `INSERT INTO ${alphaNotes} (title, body) VALUES ($1, $2) RETURNING title, body`, params: [value, { v: value }] }).expect(200);
        expect(res.body.rows[0]).toEqual({ title: value, body: { v: value } });
      }
      expect(await stack.prisma.apiKey.count()).toBe(keysBefore);
      expect(await stack.prisma.$queryRaw`SELECT 1 FROM plans LIMIT 1`).toBeDefined();
    });
  });

  // The SQL injection / ACL bypass corpus lives in test/security/sql-injection.test.ts.
  describe('validateQuery', () => {
    test('the owner’s own statements pass: joins, CTEs, subqueries, RETURNING, functions from the allow-list', async () => {
      const b = `plugin:${beta}`;
      await stack.acl.executeQuery(`INSERT INTO ${betaItems} (label) VALUES ($1), ($2)`, ['one', 'two'], b);
      const result = await stack.acl.executeQuery(
        `WITH recent AS (SELECT id, label FROM ${betaItems} WHERE label = ANY (SELECT unnest(string_to_array($1, ','))))
         SELECT upper(r.label) AS label, count(*) OVER () AS total FROM recent r JOIN ${betaItems} i ON i.id = r.id ORDER BY r.label`,
        ['one,two'],
        b,
      );
      expect(result.rows).toEqual([{ label: 'ONE', total: '2' }, { label: 'TWO', total: '2' }]);
      const deleted = await stack.acl.executeQuery(`DELETE FROM ${betaItems} WHERE label = $1 RETURNING label`, ['one'], b);
      expect(deleted).toMatchObject({ kind: 'delete', rowCount: 1, rows: [{ label: 'one' }] });
      const writes = await stack.prisma.aclAudit.findMany({ where: { requesterId: b, outcome: 'allowed', action: 'query' } });
      expect(writes.map((w) => w.statement)).toEqual(expect.arrayContaining([`DELETE FROM ${betaItems} WHERE label = $1 RETURNING label`]));
    });

    test('reads return at most maxRows rows (the rest never leaves PostgreSQL) and tolerate a trailing semicolon', async () => {
      const small = createDatabaseAcl({ prisma: stack.prisma, pool: stack.pool, events: stack.events, maxRows: 3 });
      const big = await small.executeQuery('SELECT g AS n, \'é\' AS accent FROM generate_series(1, 100000) g; -- done', [], 'admin');
      expect(big).toMatchObject({ truncated: true, rows: [{ n: 1, accent: 'é' }, { n: 2 }, { n: 3 }] });
      expect(await small.executeQuery('SELECT 1 AS one;', [], 'admin')).toMatchObject({ truncated: false, rows: [{ one: 1 }] });
    });

    test('a result over maxResultBytes is RESULT_TOO_LARGE with no rows; one of exactly the cap is answered whole', async () => {
      const sql = 'SELECT g AS n, md5(g::text) AS h FROM generate_series(1, 500) g';
      const bytes = Buffer.byteLength(JSON.stringify((await stack.acl.executeQuery(sql, [], 'admin')).rows));
      const sized = (maxResultBytes: number) => createDatabaseAcl({ prisma: stack.prisma, pool: stack.pool, events: stack.events, maxResultBytes });
      const exact = await sized(bytes).executeQuery(sql, [], 'admin');
      expect(exact).toMatchObject({ fields: ['n', 'h'], rowCount: 500, truncated: false });
      expect(exact.rows).toHaveLength(500);
      expect(Object.keys(exact.rows[0]!)).toEqual(['n', 'h']); // the wrapper's byte count is not answered
      await expect(sized(bytes - 1).executeQuery(sql, [], 'admin')).rejects.toMatchObject({ code: 'RESULT_TOO_LARGE', details: { maxBytes: bytes - 1 } });
    });

    test('PostgreSQL stops a read once its rows pass maxResultBytes (no timeout, no scan to the end); a write returning too much is rolled back', async () => {
      const small = createDatabaseAcl({ prisma: stack.prisma, pool: stack.pool, events: stack.events, maxRows: 100_000_000, maxResultBytes: 64 * 1024, statementTimeoutMs: 30_000 });
      const started = Date.now();
      // 10^8 rows (a join, so they stream: one generate_series is materialised whole) would take far
      // longer than this test allows; the guard ends the scan after about 1,500.
      const endless = 'SELECT a, b, md5(a::text) FROM generate_series(1, 10000) a, generate_series(1, 10000) b';
      await expect(small.executeQuery(endless, [], 'admin')).rejects.toMatchObject({ code: 'RESULT_TOO_LARGE' });
      expect(Date.now() - started).toBeLessThan(5000);
      // One huge row: refused before it is sent.
      await expect(small.executeQuery("SELECT string_agg(x::text, '') AS s FROM generate_series(1, 1000000) x", [], 'admin')).rejects.toMatchObject({ code: 'RESULT_TOO_LARGE' });

      const b = `plugin:${beta}`;
      const before = await count(betaItems);
      const audited = await stack.prisma.aclAudit.count({ where: { requesterId: b } });
      await expect(small.executeQuery(`INSERT INTO ${betaItems} (label) SELECT md5(g::text) FROM generate_series(1, 2000) g RETURNING label`, [], b)).rejects.toMatchObject({ code: 'RESULT_TOO_LARGE' });
      expect(await count(betaItems)).toBe(before);
      expect(await stack.prisma.aclAudit.count({ where: { requesterId: b } })).toBe(audited);
    });

    test('reads run in a read-only transaction with a statement timeout', async () => {
      const slow = createDatabaseAcl({ prisma: stack.prisma, pool: stack.pool, events: stack.events, statementTimeoutMs: 100 });
      await expect(slow.executeQuery('SELECT count(*) FROM generate_series(1, 100000000) a', [], 'admin')).rejects.toMatchObject({ code: 'UNPROCESSABLE', details: { sqlstate: '57014' } });
      await expect(runStatement(stack.pool, { sql: `INSERT INTO ${betaItems} (label) VALUES ('ro')`, params: [], readOnly: true, statementTimeoutMs: 1000, maxResultBytes: 1 << 20, role: queryRoleOf(`plugin:${beta}`) })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    });

    test('defence in depth: a statement that skipped validation still runs as the principal’s own role', async () => {
      const betaRole = queryRoleOf(`plugin:${beta}`);
      const attempts: [role: string, sql: string][] = [
        [betaRole, `SELECT * FROM ${alphaNotes}`],
        [betaRole, `INSERT INTO ${alphaNotes} (title) VALUES ('x')`],
        [betaRole, `DELETE FROM ${alphaNotes}`],
        [betaRole, 'SELECT * FROM plans'],
        [betaRole, "INSERT INTO plans (id, name, definition) VALUES ('x', 'x', '{}')"],
        [ADMIN_QUERY_ROLE, 'SELECT * FROM api_keys'],
        [ADMIN_QUERY_ROLE, 'DELETE FROM api_keys'],
        [ADMIN_QUERY_ROLE, "INSERT INTO plans (id, name, definition) VALUES ('x', 'x', '{}')"],
        [ADMIN_QUERY_ROLE, "SELECT pg_read_file('/etc/hostname')"],
        [ADMIN_QUERY_ROLE, 'CREATE TABLE evil (a int)'],
      ];
      const before = { keys: await stack.prisma.apiKey.count(), notes: await count(alphaNotes), plans: await count('plans') };
      for (const [role, sql] of attempts) {
        const outcome = await runStatement(stack.pool, { sql, params: [], readOnly: false, statementTimeoutMs: 1000, maxResultBytes: 1 << 20, role }).then(() => 'ran', (e: AppError) => e.code);
        expect([role, sql, outcome]).toEqual([role, sql, 'FORBIDDEN']);
      }
      await expect(runStatement(stack.pool, { sql: 'SELECT 1; DELETE FROM api_keys', params: [], readOnly: false, statementTimeoutMs: 1000, maxResultBytes: 1 << 20, role: ADMIN_QUERY_ROLE })).rejects.toBeInstanceOf(AppError);
      expect({ keys: await stack.prisma.apiKey.count(), notes: await count(alphaNotes), plans: await count('plans') }).toEqual(before);
      // Its own table, through its own role: allowed.
      const own = await runStatement(stack.pool, { sql: `SELECT count(*)::int AS n FROM ${betaItems}`, params: [], readOnly: true, statementTimeoutMs: 1000, maxResultBytes: 1 << 20, role: betaRole });
      expect(own.rows[0]).toEqual({ n: expect.any(Number) });
    });
  });

  describe('user tables and routes', () => {
    test("a table's columns read nullable as PostgreSQL made them: a primary key is NOT NULL whatever the spec said", async () => {
      const spec = { name: `pk_${run}`, columns: [{ name: 'id', type: 'serial', primaryKey: true }, { name: 'code', type: 'text', primaryKey: true, nullable: true }, { name: 'note', type: 'text' }, { name: 'tag', type: 'text', nullable: false }] };
      const { table } = (await keys.carol.post('/api/v1/acl/tables').send(spec).expect(201)).body as { table: string };
      const inDatabase = await stack.prisma.$queryRaw<{ column_name: string; is_nullable: string }[]>`SELECT column_name, is_nullable FROM information_schema.columns WHERE table_name = ${table} ORDER BY ordinal_position`;
      const expected = inDatabase.map((c) => ({ name: c.column_name, nullable: c.is_nullable === 'YES' }));
      expect(expected).toEqual([{ name: 'id', nullable: false }, { name: 'code', nullable: false }, { name: 'note', nullable: true }, { name: 'tag', nullable: false }]);
      const columnsOf = (t: { schema: { columns: { name: string; nullable: boolean }[] } }) => t.schema.columns.map(({ name, nullable }) => ({ name, nullable }));
      expect(columnsOf((await keys.carol.get(`/api/v1/acl/tables/${table}`).expect(200)).body)).toEqual(expected);
      expect(columnsOf((await keys.carol.get('/api/v1/acl/tables').expect(200)).body.tables.find((t: { name: string }) => t.name === table))).toEqual(expected);
      // the stored spec is still the one given: creating it again is the same table, not a conflict
      expect(await stack.acl.createUserTable('user:carol', spec)).toMatchObject({ created: false });
    });

    test('a user creates a table it fully owns; others are denied until granted; admin may read', async () => {
      const spec = { name: `journal_${run}`, columns: [{ name: 'id', type: 'serial', primaryKey: true }, { name: 'entry', type: 'text' }] };
      const created = await keys.carol.post('/api/v1/acl/tables').send(spec).expect(201);
      const table = created.body.table as string;
      expect(table).toBe(`user_journal_${run}`);
      expect((await keys.carol.get(`/api/v1/acl/tables/${table}`).expect(200)).body).toMatchObject({ accessLevel: 'user', ownerId: 'user:carol' });
      expect((await keys.alpha.post('/api/v1/acl/tables').send({ ...spec, name: 'plugin_made' })).status).toBe(403); // plugins use createPluginTable
      await keys.carol.post('/api/v1/db/query').send({ sql: `INSERT INTO ${table} (entry) VALUES ($1)`, params: ['dear diary'] }).expect(200);
      await keys.carol.post('/api/v1/db/query').send({ sql: `UPDATE ${table} SET entry = entry || '!'` }).expect(200);

      expect((await keys.dave.post('/api/v1/db/query').send({ sql: `SELECT * FROM ${table}` })).status).toBe(403);
      expect((await keys.dave.get(`/api/v1/acl/tables/${table}`)).status).toBe(404);
      expect((await keys.dave.get('/api/v1/acl/tables').expect(200)).body.tables.map((t: { name: string }) => t.name)).not.toContain(table);
      expect((await keys.carol.get('/api/v1/acl/tables').expect(200)).body.tables.map((t: { name: string }) => t.name)).toContain(table);
      expect((await keys.admin.post('/api/v1/db/query').send({ sql: `SELECT entry FROM ${table}` }).expect(200)).body.rows).toEqual([{ entry: 'dear diary!' }]);

      await keys.carol.post(`/api/v1/acl/tables/${table}/grants`).send({ grantee: 'user:dave', privilege: 'write' }).expect(204);
      expect((await keys.dave.post('/api/v1/db/query').send({ sql: `INSERT INTO ${table} (entry) VALUES ('dave was here')` })).status).toBe(200);
      expect((await keys.dave.post('/api/v1/db/query').send({ sql: `UPDATE ${table} SET entry = 'x'` })).status).toBe(403); // UPDATE also reads
      await keys.dave.delete(`/api/v1/acl/tables/${table}`).expect(404); // may not read it: as if missing
      expect((await keys.carol.delete(`/api/v1/acl/tables/${table}`).expect(200)).body).toEqual({ table, dropped: true });
      await keys.carol.delete(`/api/v1/acl/tables/${table}`).expect(404);
      await keys.carol.get(`/api/v1/acl/tables/${table}`).expect(404);
    });

    test('a table the caller may not read answers exactly as a missing one on every route that names a table', async () => {
      const hiddenSpec = { name: `hidden_${run}`, columns: [{ name: 'secret', type: 'text' }] };
      const hidden = (await keys.carol.post('/api/v1/acl/tables').send(hiddenSpec).expect(201)).body.table as string;
      const missing = `user_nothing_${run}`.slice(0, hidden.length).padEnd(hidden.length, 'x');
      const probes: [string, (name: string) => Promise<{ status: number; text: string }>][] = [
        ['GET metadata', (name) => keys.dave.get(`/api/v1/acl/tables/${name}`)],
        ['POST grant', (name) => keys.dave.post(`/api/v1/acl/tables/${name}/grants`).send({ grantee: 'user:dave', privilege: 'read' })],
        ['DELETE grant', (name) => keys.dave.delete(`/api/v1/acl/tables/${name}/grants`).send({ grantee: 'user:dave', privilege: 'read' })],
        ['DELETE table', (name) => keys.dave.delete(`/api/v1/acl/tables/${name}`)],
        ['SQL query', (name) => keys.dave.post('/api/v1/db/query').send({ sql: `SELECT * FROM ${name}` })],
      ];
      // A user table, another plugin's protected table, a locked system table, credentials: all hidden from dave.
      for (const name of [hidden, alphaNotes, 'plans', 'api_keys']) {
        for (const [route, probe] of probes) {
          const [seen, absent] = [await probe(name), await probe(missing)];
          expect([route, name, seen.status, seen.text.replaceAll(name, '<table>')]).toEqual([route, name, absent.status, absent.text.replaceAll(missing, '<table>')]);
        }
      }
      const notFound = await keys.dave.get(`/api/v1/acl/tables/${hidden}`).expect(404);
      expect(notFound.body).toEqual({ error: { code: 'NOT_FOUND', message: `table '${hidden}' does not exist`, details: { id: hidden } } });
      expect(await stack.acl.getTableMetadata(hidden)).not.toBeNull(); // dave's DELETE dropped nothing
      // The probe of an existing table is still audited as a denial.
      expect(await stack.prisma.aclAudit.findFirst({ where: { requesterId: 'user:dave', action: 'grant', outcome: 'denied', tableNames: { has: hidden } } })).not.toBeNull();

      // Who may know the table gets the real answers: admin sees it, a reader learns it is not theirs to grant.
      expect((await keys.admin.get(`/api/v1/acl/tables/${hidden}`).expect(200)).body).toMatchObject({ name: hidden, ownerId: 'user:carol' });
      expect((await keys.admin.get('/api/v1/acl/tables/api_keys').expect(200)).body).toMatchObject({ name: 'api_keys', accessLevel: 'locked' });
      await keys.carol.post(`/api/v1/acl/tables/${hidden}/grants`).send({ grantee: 'user:dave', privilege: 'read' }).expect(204);
      expect((await keys.dave.get(`/api/v1/acl/tables/${hidden}`).expect(200)).body.name).toBe(hidden);
      expect((await keys.dave.post(`/api/v1/acl/tables/${hidden}/grants`).send({ grantee: 'user:dave', privilege: 'write' }).expect(403)).body.error.code).toBe('FORBIDDEN');
      await keys.dave.delete(`/api/v1/acl/tables/${hidden}`).expect(403);
      await keys.carol.delete(`/api/v1/acl/tables/${hidden}`).expect(200);
    });

    test('POST /db/query of a result over ACL_MAX_RESULT_BYTES (16 MiB by default) is 422 RESULT_TOO_LARGE with no rows', async () => {
      const res = await keys.carol.post('/api/v1/db/query').send({ sql: "SELECT string_agg(x::text, '') AS s FROM generate_series(1, 5000000) x" }).expect(422);
      expect(res.body).toEqual({ error: { code: 'RESULT_TOO_LARGE', message: expect.stringContaining(`${16 * 1024 * 1024} bytes`), details: { maxBytes: 16 * 1024 * 1024 } } });
      expect(res.text.length).toBeLessThan(1000);
      // The cap is configuration, zod-checked at start.
      expect(loadConfig({}).ACL_MAX_RESULT_BYTES).toBe(16 * 1024 * 1024);
      expect(loadConfig({ ACL_MAX_RESULT_BYTES: '65536' }).ACL_MAX_RESULT_BYTES).toBe(65_536);
      expect(() => loadConfig({ ACL_MAX_RESULT_BYTES: '10' })).toThrow(/ACL_MAX_RESULT_BYTES/);
    });

    test('bad bodies are 400 in the standard shape', async () => {
      const bad = await keys.carol.post('/api/v1/db/query').send({ sql: '', params: 'x' });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('VALIDATION_FAILED');
      expect((await keys.carol.post('/api/v1/acl/tables').send({ name: 'x"y', columns: [] })).status).toBe(400);
      expect((await keys.carol.post('/api/v1/db/query').send({ sql: 'SELECT 1', extra: true })).status).toBe(400);
    });
  });

  test('core.db.query runs through the ACL as the calling principal', async () => {
    const tools = stack.tools; // core.db.query is registered there from createDbQueryTool(stack.acl)
    const own = await tools.executeTool('core.db.query', { sql: `SELECT count(*)::int AS n FROM ${betaItems}` }, { requesterId: `plugin:${beta}` });
    expect(own).toMatchObject({ status: 'completed', output: { kind: 'select', rows: [{ n: expect.any(Number) }] } });
    await expect(tools.executeTool('core.db.query', { sql: `SELECT * FROM ${alphaNotes}` }, { requesterId: `plugin:${beta}` })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(tools.executeTool('core.db.query', { sql: 42 }, { requesterId: 'admin' })).rejects.toMatchObject({ code: 'UNPROCESSABLE' });
  });

  test('ACL activities are idempotent and turn permanent errors into non-retryable failures', async () => {
    const activities = createAclActivities({ acl: stack.acl });
    const delta = `delta${run}`;
    const spec = { name: 'kv', columns: [{ name: 'k', type: 'text', primaryKey: true }] };
    expect(await activities.aclCreatePluginTable(delta, spec)).toEqual({ table: `plugin_${delta}_kv`, created: true });
    expect(await activities.aclCreatePluginTable(delta, spec)).toEqual({ table: `plugin_${delta}_kv`, created: false });
    await expect(activities.aclCreatePluginTable(delta, { ...spec, columns: [{ name: 'v', type: 'text' }] })).rejects.toMatchObject({ type: 'CONFLICT', nonRetryable: true });
    await expect(activities.aclCreatePluginTable(delta, { name: 'Bad' })).rejects.toMatchObject({ type: 'VALIDATION_FAILED', nonRetryable: true });
    expect(await activities.aclDropPluginTables(delta)).toEqual([`plugin_${delta}_kv`]);
  });

  test('a grant in another process reaches this process’s cache through NOTIFY', async () => {
    const here = await startDatabaseAcl({ prisma: stack.prisma, databaseUrl: stackInfo().databaseUrl, events: stack.events, statementTimeoutMs: 1000, maxResultBytes: 1 << 20 });
    try {
      const b = `plugin:${beta}`;
      expect(await here.acl.canRead(alphaNotes, b)).toBe(false); // cached now (30 s)
      await stack.acl.grantAccess(alphaNotes, { grantee: b, privilege: 'read' }, `plugin:${alpha}`);
      await eventually(() => here.acl.canRead(alphaNotes, b), (ok) => ok);
      const asBeta = { sql: `SELECT count(*) FROM ${alphaNotes}`, params: [], readOnly: true, statementTimeoutMs: 1000, maxResultBytes: 1 << 20, role: queryRoleOf(b) };
      expect((await runStatement(stack.pool, asBeta)).rowCount).toBe(1); // the role got SELECT with the grant
      // Revoked by the other ACL instance (a fresh process): the rule and the role both lose it.
      await here.acl.revokeAccess(alphaNotes, { grantee: b, privilege: 'read' }, `plugin:${alpha}`);
      await eventually(() => stack.acl.canRead(alphaNotes, b), (ok) => !ok);
      await expect(runStatement(stack.pool, asBeta)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    } finally {
      await here.close();
    }
  });
});
