import { openPlanHarness, type PlanHarness } from './support/plan-harness';
import { eventually } from './support/wait';

// GET /api/v1/plans/approvals: what waits for the caller's decision, across every run they may decide.
describe('plan approvals waiting for the caller', () => {
  let h: PlanHarness;
  beforeAll(async () => {
    h = await openPlanHarness();
  });
  afterAll(() => h.close());

  type Waiting = { runId: string; planId: string; planName: string; stepId: string; approvers: string[]; message: string | null; requestedAt: string; runStatus: string };
  const waitingFor = async (principal: string): Promise<Waiting[]> => (await (await h.as(principal)).get('/api/v1/plans/approvals').expect(200)).body.approvals;
  const runsWaitingFor = async (principal: string) => (await waitingFor(principal)).map((w) => `${w.runId}/${w.stepId}`);

  test('a named approver sees the step until it is decided; a step open to anyone is listed for the run’s owner, starter and admin only', async () => {
    const named = await h.createPlan({ name: 'ship', steps: [{ id: 'work', kind: 'wait', duration: '1ms' }, { id: 'gate', kind: 'approval', approvers: ['user:alice', 'user:carol'], message: 'ship it?', dependsOn: ['work'] }] });
    const shipRun = await h.execute(named);
    await h.waitFor(shipRun, (r) => r.steps.gate?.status === 'waiting_approval');

    const bob = await h.as('user:bob');
    const open = (await bob.post('/api/v1/plans').send({ name: 'bob asks', steps: [{ id: 'anyone', kind: 'approval', approvers: ['*'] }] }).expect(201)).body.id as string;
    const bobRun = (await bob.post(`/api/v1/plans/${open}/execute`).send({}).expect(202)).body.runId as string;
    await h.waitFor(bobRun, (r) => r.steps.anyone?.status === 'waiting_approval');

    const alices = await eventually(() => waitingFor('user:alice'), (list) => list.some((w) => w.runId === shipRun));
    expect(alices.find((w) => w.runId === shipRun)).toEqual({
      runId: shipRun, planId: named, planName: 'ship', stepId: 'gate', approvers: ['user:alice', 'user:carol'], message: 'ship it?', requestedAt: expect.any(String), runStatus: 'running',
    });
    expect(await runsWaitingFor('user:carol')).toContain(`${shipRun}/gate`);
    // Not named: bob, and admin too (it could decide it only as an override: see all=true below).
    expect(await runsWaitingFor('user:bob')).not.toContain(`${shipRun}/gate`);
    expect(await runsWaitingFor('admin')).not.toContain(`${shipRun}/gate`);
    // `*`: whoever may read bob's run and decide it.
    expect(await runsWaitingFor('user:bob')).toContain(`${bobRun}/anyone`);
    expect(await runsWaitingFor('admin')).toContain(`${bobRun}/anyone`);
    expect(await runsWaitingFor('user:alice')).not.toContain(`${bobRun}/anyone`);

    // Decided or cancelled: no longer waiting.
    await (await h.as('user:alice')).post(`/api/v1/plans/runs/${shipRun}/steps/gate/approve`).send({}).expect(200);
    await h.waitFor(shipRun, (r) => r.status === 'completed');
    await eventually(() => runsWaitingFor('user:carol'), (list) => !list.includes(`${shipRun}/gate`));
    await bob.post(`/api/v1/plans/runs/${bobRun}/cancel`).send({}).expect(202);
    await h.waitFor(bobRun, (r) => r.status === 'cancelled');
    expect(await runsWaitingFor('user:bob')).not.toContain(`${bobRun}/anyone`);
  });

  test('all=true: admin lists every waiting approval step, the ones it would override included; anyone else gets 403 FORBIDDEN', async () => {
    const plan = await h.createPlan({ name: 'dave decides', steps: [{ id: 'gate', kind: 'approval', approvers: ['user:dave'] }] });
    const runId = await h.execute(plan);
    await h.waitFor(runId, (r) => r.steps.gate?.status === 'waiting_approval');
    /** The answer to GET /approvals with `query`, as `principal`: its status and body. */
    const asked = async (principal: string, query = '?all=true') => {
      const res = await (await h.as(principal)).get(`/api/v1/plans/approvals${query}`);
      return { status: res.status, body: res.body };
    };
    const runsIn = (answer: { body: { approvals: Waiting[] } }) => answer.body.approvals.map((w) => `${w.runId}/${w.stepId}`);

    const listed = await eventually(() => asked('admin'), (a) => a.status === 200 && runsIn(a).includes(`${runId}/gate`));
    expect(listed.body.approvals.find((w: Waiting) => w.runId === runId)).toMatchObject({ stepId: 'gate', approvers: ['user:dave'] });
    // The default list is unchanged: the step does not name admin.
    expect(await runsWaitingFor('admin')).not.toContain(`${runId}/gate`);
    const notAll = await asked('admin', '?all=false');
    expect(notAll.status).toBe(200);
    expect(runsIn(notAll)).not.toContain(`${runId}/gate`);

    for (const principal of ['user:dave', 'user:bob']) {
      expect(await asked(principal)).toEqual({ status: 403, body: { error: { code: 'FORBIDDEN', message: 'only admin may list every waiting approval (all=true)', details: null } } });
    }
    expect(await runsWaitingFor('user:dave')).toContain(`${runId}/gate`);
    expect(await asked('admin', '?all=yes')).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
    await h.api.post(`/api/v1/plans/runs/${runId}/cancel`).send({}).expect(202);
  });

  test('the limit is checked', async () => {
    const res = await (await h.as('user:alice')).get('/api/v1/plans/approvals?limit=0').expect(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
  });
});
