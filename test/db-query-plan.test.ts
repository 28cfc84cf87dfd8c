import type { Express } from 'express';
import { createApiKeyService } from '../activities/auth/api-key-service';
import { newId } from '../platform/ids';
import { authed, createTestKey } from './support/api-auth';
import { openTestStack, type TestStack } from './support/test-stack';
import { stackApp } from './support/tool-test-app';
import { eventually } from './support/wait';

// core.db.query inside a plan: the worker runs it through the ACL as the principal who started the run.
describe('core.db.query in a plan run', () => {
  const owner = `dbq${newId(6).replace(/[^a-z0-9]/g, 'x')}`;
  const table = `plugin_${owner}_facts`;
  let stack: TestStack;
  let app: Express;

  beforeAll(async () => {
    stack = await openTestStack();
    await stack.startWorker(); // the stack's tool registry carries core.db.query (createDbQueryTool(stack.acl))
    app = stackApp(stack);
    await stack.acl.createPluginTable(owner, { name: 'facts', columns: [{ name: 'fact', type: 'text' }] });
  });
  afterAll(() => stack.close());

  async function runPlan(principal: string, sql: string, params: unknown[]) {
    const api = authed(app, await createTestKey(createApiKeyService({ prisma: stack.prisma }), principal));
    const plan = await api.post('/api/v1/plans').send({ name: 'db', steps: [{ id: 'q', kind: 'tool', tool: 'core.db.query', args: { sql, params } }] }).expect(201);
    const started = await api.post(`/api/v1/plans/${plan.body.id}/execute`).send({}).expect(202);
    return eventually(
      async () => (await api.get(`/api/v1/plans/runs/${started.body.runId}`).expect(200)).body,
      (run) => run.status === 'completed' || run.status === 'failed',
    );
  }

  test('the owner’s run writes its table; another principal’s run fails FORBIDDEN without retries and writes nothing', async () => {
    const ok = await runPlan(`plugin:${owner}`, `INSERT INTO ${table} (fact) VALUES ($1) RETURNING fact`, ['water is wet']);
    expect(ok.status).toBe('completed');
    const step = ok.history.find((h: { event: string }) => h.event === 'plan.step_completed');
    expect(step.details.output).toMatchObject({ kind: 'insert', rows: [{ fact: 'water is wet' }] });

    const denied = await runPlan('user:mallory', `DELETE FROM ${table}`, []);
    expect(denied.status).toBe('failed');
    expect(denied.error).toMatch(/may not delete/);
    const rows = await stack.prisma.$queryRawUnsafe<{ fact: string }[]>(`SELECT fact FROM "${table}"`);
    expect(rows).toEqual([{ fact: 'water is wet' }]);
    const audits = await stack.prisma.aclAudit.count({ where: { requesterId: 'user:mallory', outcome: 'denied', tableNames: { has: table } } });
    expect(audits).toBe(1); // FORBIDDEN is permanent: the activity was not retried
  });
});
