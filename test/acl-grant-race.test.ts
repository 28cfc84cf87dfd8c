import { createDatabaseAcl } from '../activities/acl/acl-service';
import { newId } from '../platform/ids';
import { openTestStack, type TestStack } from './support/test-stack';

describe('database ACL: a grant or revoke on a table dropped meanwhile', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await openTestStack();
  });
  afterAll(() => stack.close());

  test('an instance whose metadata cache still holds a dropped table answers NOT_FOUND for grant and revoke, and writes nothing', async () => {
    // `stale` decided on the table before another instance (`stack.acl`, another API process) dropped it.
    const stale = createDatabaseAcl({ prisma: stack.prisma, pool: stack.pool, events: stack.events });
    const table = `user_g${newId(6).toLowerCase()}`;
    await stale.createUserTable('user:ann', { name: table.slice('user_'.length), columns: [{ name: 'a', type: 'text' }] });
    expect(await stale.canRead(table, 'user:ann')).toBe(true);
    await stack.acl.dropTable(table, 'user:ann');
    const outcome = (p: Promise<void>) => p.then(() => 'ok', (error: { code?: string }) => error.code);
    expect(await outcome(stale.grantAccess(table, { grantee: 'user:bob', privilege: 'read' }, 'user:ann'))).toBe('NOT_FOUND');
    expect(await outcome(stale.grantAccess(table, { grantee: 'admin', privilege: 'read' }, 'user:ann'))).toBe('NOT_FOUND');
    expect(await outcome(stale.revokeAccess(table, { grantee: 'user:bob', privilege: 'read' }, 'user:ann'))).toBe('NOT_FOUND');
    expect(await stack.prisma.tableGrant.count({ where: { tableName: table } })).toBe(0);
    expect(await stack.prisma.aclAudit.count({ where: { tableNames: { has: table }, action: { in: ['grant', 'revoke'] } } })).toBe(0);
  });

  test('a table dropped and made again by another owner is not granted on by the old owner', async () => {
    const stale = createDatabaseAcl({ prisma: stack.prisma, pool: stack.pool, events: stack.events });
    const name = `h${newId(6).toLowerCase()}`;
    const table = `user_${name}`;
    await stale.createUserTable('user:ann', { name, columns: [{ name: 'a', type: 'text' }] });
    expect(await stale.canRead(table, 'user:ann')).toBe(true);
    await stack.acl.dropTable(table, 'user:ann');
    await stack.acl.createUserTable('user:carol', { name, columns: [{ name: 'a', type: 'text' }] });
    await expect(stale.grantAccess(table, { grantee: 'user:ann', privilege: 'read' }, 'user:ann')).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await stack.prisma.tableGrant.count({ where: { tableName: table } })).toBe(0);
    // Its cache was refreshed: to the old owner the table is now someone else's, which answers as a missing one.
    await expect(stale.grantAccess(table, { grantee: 'user:ann', privilege: 'read' }, 'user:ann')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await stack.acl.dropTable(table, 'user:carol');
  });
});
