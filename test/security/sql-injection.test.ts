import { newId } from '../../platform/ids';
import { authed, createTestKey, testKeyService } from '../support/api-auth';
import { openTestStack, type TestStack } from '../support/test-stack';
import { stackApp } from '../support/tool-test-app';
import { SQL_ATTACKS } from './corpora/sql-injection';

const run = newId(6).replace(/[^a-z0-9]/g, 'x');
const alpha = `sqlialpha${run}`;
const beta = `sqlibeta${run}`;
const alphaNotes = `plugin_${alpha}_notes`;
const betaItems = `plugin_${beta}_items`;

// The SQL injection / ACL bypass corpus, sent through the real API as plugin `beta`: every
// statement is refused with its status, and no table, row or relation changes.
describe('SQL injection and ACL bypass corpus (POST /api/v1/db/query as a plugin)', () => {
  let stack: TestStack;
  let asBeta: ReturnType<typeof authed>;

  const count = async (table: string) => Number((await stack.prisma.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM "${table}"`))[0]!.n);
  const relations = async () => Number((await stack.prisma.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM pg_class WHERE relnamespace = 'public'::regnamespace`)[0]!.n);
  const snapshot = async () => ({ items: await count(betaItems), notes: await count(alphaNotes), plans: await count('plans'), keys: await count('api_keys'), relations: await relations() });

  beforeAll(async () => {
    stack = await openTestStack();
    asBeta = authed(stackApp(stack), await createTestKey(testKeyService(stack.prisma), `plugin:${beta}`));
    await stack.acl.createPluginTable(alpha, { name: 'notes', columns: [{ name: 'id', type: 'serial', primaryKey: true }, { name: 'title', type: 'text', nullable: false }] });
    await stack.acl.createPluginTable(beta, { name: 'items', columns: [{ name: 'id', type: 'serial', primaryKey: true }, { name: 'label', type: 'text' }] });
    await stack.acl.executeQuery(`INSERT INTO ${alphaNotes} (title) VALUES ('alpha secret')`, [], `plugin:${alpha}`);
  });
  afterAll(() => stack.close());

  test.each(SQL_ATTACKS)('%s', async (_label, template, status) => {
    const sql = template.replaceAll('{own}', betaItems).replaceAll('{other}', alphaNotes).replaceAll('{OTHER}', alphaNotes.toUpperCase());
    const before = await snapshot();
    const res = await asBeta.post('/api/v1/db/query').send({ sql });
    expect({ sql, status: res.status, code: res.body.error?.code }).toEqual({ sql, status, code: status === 400 ? 'VALIDATION_FAILED' : 'FORBIDDEN' });
    expect(JSON.stringify(res.body)).not.toContain('alpha secret');
    expect(await snapshot()).toEqual(before);
  });

  test('the corpus bites: the same plugin may read and write its own table through the same route', async () => {
    await asBeta.post('/api/v1/db/query').send({ sql: `INSERT INTO ${betaItems} (label) VALUES ($1)`, params: ["x'); DROP TABLE plans; --"] }).expect(200);
    const read = await asBeta.post('/api/v1/db/query').send({ sql: `SELECT label FROM ${betaItems}` }).expect(200);
    expect(read.body.rows).toEqual([{ label: "x'); DROP TABLE plans; --" }]);
  });
});
