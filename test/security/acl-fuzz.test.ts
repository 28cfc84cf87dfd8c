import fc from 'fast-check';
import { analyzeQuery, loadSqlParser } from '../../activities/acl/query-analyzer';
import type { Privilege } from '../../activities/acl/acl-schemas';
import { AppError } from '../../platform/errors';
import { newId } from '../../platform/ids';
import { openTestStack, type TestStack } from '../support/test-stack';

const run = newId(6).replace(/[^a-z0-9]/g, 'x');
const me = `fuzzme${run}`;
const other = `fuzzother${run}`;
const own = `plugin_${me}_t`;
const shared = `plugin_${other}_shared`;
const secret = `plugin_${other}_secret`;
const requester = `plugin:${me}`;

/** What `requester` may do, per table: the oracle the generated statements are judged against. */
const RIGHTS: Record<string, readonly Privilege[]> = {
  [own]: ['read', 'write', 'delete'],
  [shared]: ['read'],
  [secret]: [],
  plans: [],
  api_keys: [],
  no_such_table: [],
  pg_class: [],
  'information_schema.tables': [],
  'public.plans': [],
};
const TABLES = Object.keys(RIGHTS);
const WRITABLE_TARGETS = [own, shared, secret, 'plans', 'api_keys'];

type Use = [table: string, privilege: Privilege];
interface Gen {
  sql: string;
  uses: Use[];
}

// Permitted tables are drawn more often, so that deep statements are sometimes accepted too.
const tableName = fc.oneof({ arbitrary: fc.constantFrom(own, shared), weight: 12 }, { arbitrary: fc.constantFrom(...TABLES), weight: 1 });
const table: fc.Arbitrary<Gen> = tableName.map((t) => ({ sql: t, uses: [[t, 'read']] }));

const { select } = fc.letrec<{ select: Gen; from: Gen; cond: Gen }>((tie) => ({
  select: fc
    .tuple(fc.constantFrom('*', 'count(*)', 'id', 'lower(name) AS n'), tie('from'), fc.option(tie('cond'), { nil: undefined }))
    .map(([cols, from, where]) => ({
      sql: `SELECT ${cols} FROM ${from.sql}${where ? ` WHERE ${where.sql}` : ''}`,
      uses: [...from.uses, ...(where?.uses ?? [])],
    })),
  from: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    table,
    tie('select').map((s) => ({ sql: `(${s.sql}) AS sub`, uses: s.uses })),
    fc.tuple(table, tie('from')).map(([a, b]) => ({ sql: `${a.sql} a JOIN ${b.sql} ON true`, uses: [...a.uses, ...b.uses] })),
  ),
  cond: fc.oneof(
    { depthSize: 'small' },
    fc.constant({ sql: 'id = $1', uses: [] as Use[] }),
    tie('select').map((s) => ({ sql: `EXISTS (${s.sql})`, uses: s.uses })),
    tie('select').map((s) => ({ sql: `id IN (SELECT id FROM (${s.sql}) AS q)`, uses: s.uses })),
  ),
}));

const target = fc.oneof({ arbitrary: fc.constant(own), weight: 4 }, { arbitrary: fc.constantFrom(...WRITABLE_TARGETS), weight: 1 });

const dml: fc.Arbitrary<Gen> = fc.oneof(
  fc.tuple(target, select, fc.boolean()).map(([t, s, returning]): Gen => ({
    sql: `INSERT INTO ${t} (id) SELECT id FROM (${s.sql}) AS src${returning ? ' RETURNING id' : ''}`,
    uses: [[t, 'write'], ...(returning ? [[t, 'read'] as Use] : []), ...s.uses],
  })),
  fc.tuple(target, fc.option(select, { nil: undefined })).map(([t, s]): Gen => ({
    sql: `UPDATE ${t} SET id = id${s ? ` WHERE EXISTS (${s.sql})` : ''}`,
    uses: [[t, 'write'], [t, 'read'], ...(s?.uses ?? [])],
  })),
  fc.tuple(target, fc.option(select, { nil: undefined })).map(([t, s]): Gen => ({
    sql: `DELETE FROM ${t}${s ? ` WHERE id IN (SELECT id FROM (${s.sql}) AS d)` : ''}`,
    uses: [[t, 'delete'], [t, 'read'], ...(s?.uses ?? [])],
  })),
);

const statement: fc.Arbitrary<Gen> = fc.oneof(
  select,
  dml,
  fc.tuple(select, select).map(([a, b]) => ({ sql: `${a.sql} UNION ALL ${b.sql}`, uses: [...a.uses, ...b.uses] })),
  fc.tuple(fc.oneof(select, dml.map((d) => ({ ...d, sql: d.sql.includes('RETURNING') ? d.sql : `${d.sql} RETURNING id` }))), select).map(([cte, main]) => ({
    sql: `WITH c AS (${cte.sql}) SELECT * FROM c, (${main.sql}) AS m`,
    uses: [...cte.uses, ...(cte.sql.startsWith('INSERT') || cte.sql.startsWith('UPDATE') || cte.sql.startsWith('DELETE') ? [[cte.uses[0]![0], 'read'] as Use] : []), ...main.uses],
  })),
);

function allowed(uses: Use[]): boolean {
  return uses.every(([t, p]) => (RIGHTS[t] ?? []).includes(p));
}

/** Token soup: fragments of SQL, forbidden names and punctuation in random order. */
const soup = fc
  .array(
    fc.constantFrom(
      'SELECT', 'FROM', 'WHERE', 'WITH', 'AS', 'INSERT', 'INTO', 'UPDATE', 'SET', 'DELETE', 'VALUES', 'UNION', 'RETURNING',
      'COPY', 'TO', 'STDOUT', 'DROP', 'TABLE', 'CREATE', 'GRANT', 'FOR', 'SHARE', '*', ',', ';', '(', ')', '=', '1', '$1',
      "'x'", '"x"', '--', '/*', '*/', 'pg_sleep(1)', 'set_config(1,2,3)', 'x', 'c', own, shared, secret, 'plans', 'api_keys',
      'pg_catalog.pg_class', 'information_schema.tables', 'public.', '::regclass', 'E\'\\\'\'', '$$', 'LATERAL', 'JOIN', 'ON', 'true',
    ),
    { maxLength: 25 },
  )
  .map((parts) => parts.join(' '));

describe('validateQuery under fuzzing', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await openTestStack();
    await loadSqlParser();
    await stack.acl.createPluginTable(me, { name: 't', columns: [{ name: 'id', type: 'integer' }, { name: 'name', type: 'text' }] });
    await stack.acl.createPluginTable(other, { name: 'shared', columns: [{ name: 'id', type: 'integer' }, { name: 'name', type: 'text' }] });
    await stack.acl.createPluginTable(other, { name: 'secret', columns: [{ name: 'id', type: 'integer' }, { name: 'name', type: 'text' }] });
    await stack.acl.grantAccess(shared, { grantee: requester, privilege: 'read' }, `plugin:${other}`);
  });
  afterAll(() => stack.close());

  test('the pure analyser never throws anything but AppError on arbitrary input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 100 }), soup), (sql) => {
        try {
          analyzeQuery(sql);
        } catch (error) {
          if (!(error instanceof AppError)) throw error;
          expect(['VALIDATION_FAILED', 'FORBIDDEN']).toContain(error.code);
        }
      }),
      { numRuns: 3000 },
    );
  });

  test('validateQuery on token soup throws only the ACL’s AppError, and what it accepts touches only permitted tables', async () => {
    await fc.assert(
      fc.asyncProperty(soup, async (sql) => {
        const outcome = await stack.acl.validateQuery(sql, requester).catch((error: unknown) => {
          if (!(error instanceof AppError)) throw error;
          return null;
        });
        if (outcome) expect(outcome.access.every((a) => (RIGHTS[a.table] ?? []).includes(a.privilege))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  test('generated statements are accepted exactly when every table they touch is permitted for that operation', async () => {
    const seen = { accepted: 0, rejected: 0, writesAccepted: 0 };
    await fc.assert(
      fc.asyncProperty(statement, async ({ sql, uses }) => {
        const accepted = await stack.acl.validateQuery(sql, requester).then(
          () => true,
          (error: unknown) => {
            if (!(error instanceof AppError) || error.code !== 'FORBIDDEN') throw error;
            return false;
          },
        );
        expect({ sql, accepted }).toEqual({ sql, accepted: allowed(uses) });
        seen[accepted ? 'accepted' : 'rejected'] += 1;
        if (accepted && uses.some(([, p]) => p !== 'read')) seen.writesAccepted += 1;
      }),
      { numRuns: 400 },
    );
    // The property is only meaningful if both outcomes, and accepted writes, were exercised.
    expect(seen.accepted).toBeGreaterThan(20);
    expect(seen.rejected).toBeGreaterThan(20);
    expect(seen.writesAccepted).toBeGreaterThan(5);
  });

  test('what the rules accept, PostgreSQL lets the requester’s own role run (grants mirror the rules)', async () => {
    let ran = 0;
    await fc.assert(
      fc.asyncProperty(statement, async ({ sql, uses }) => {
        fc.pre(allowed(uses));
        const outcome = await stack.acl.executeQuery(sql, [1], requester).then(
          () => 'ran',
          (error: unknown) => {
            if (!(error instanceof AppError)) throw error;
            return error.code; // UNPROCESSABLE is fine (e.g. a generated column that does not exist); FORBIDDEN is not
          },
        );
        expect({ sql, outcome: outcome === 'FORBIDDEN' ? 'FORBIDDEN' : 'not forbidden' }).toEqual({ sql, outcome: 'not forbidden' });
        if (outcome === 'ran') ran += 1;
      }),
      { numRuns: 150 },
    );
    expect(ran).toBeGreaterThan(10); // many generated statements are semantically invalid (ambiguous or missing columns): those are 422s
  });
});
