import { openPlanHarness, type PlanHarness } from './support/plan-harness';
import { eventually } from './support/wait';

// Admin may decide an approval step that does not name it (behaviour 'admin-overrides-approvals'),
// and the run records the decision as an override; everyone else keeps the approvers' rule.
describe('approval steps: admin overrides approvers who are away', () => {
  let h: PlanHarness;
  beforeAll(async () => {
    h = await openPlanHarness();
  });
  afterAll(() => h.close());

  /** A plan whose gate names user:alice alone (and `other` names user:carol, who may read its runs), started by user:bob. */
  const waitingForAlice = async (onFailure: 'fail' | 'continue' = 'fail') => {
    const bob = await h.as('user:bob');
    const plan = (await bob.post('/api/v1/plans').send({
      name: 'needs alice',
      steps: [
        { id: 'gate', kind: 'approval', approvers: ['user:alice'], message: 'ship it?', onFailure },
        { id: 'ship', kind: 'tool', tool: 'core.test.log', args: { shipped: true }, dependsOn: ['gate'] },
        { id: 'other', kind: 'approval', approvers: ['user:carol'], dependsOn: ['ship'] },
      ],
    }).expect(201)).body.id as string;
    const runId = (await bob.post(`/api/v1/plans/${plan}/execute`).send({}).expect(202)).body.runId as string;
    await h.waitFor(runId, (r) => r.steps.gate?.status === 'waiting_approval');
    return runId;
  };
  const decision = async (runId: string, stepId: string) => {
    const rows = await eventually(() => h.stack.prisma.planHistory.findMany({ where: { runId, stepId, event: { in: ['plan.step_approved', 'plan.step_rejected'] } } }), (r) => r.length > 0);
    expect(rows).toHaveLength(1);
    return { event: rows[0]!.event, details: rows[0]!.details };
  };
  const decisionEvents = (runId: string) => h.events.filter((e) => /^plan\.step_(approved|rejected)$/.test(e.type) && (e.data as { runId: string }).runId === runId);

  test('admin approves a step that names only user:alice: the run goes on, and the row and event say admin decided as an override', async () => {
    const runId = await waitingForAlice();
    const step = (await h.api.post(`/api/v1/plans/runs/${runId}/steps/gate/approve`).send({ comment: 'alice is away' }).expect(200)).body;
    expect(step).toMatchObject({ decidedBy: 'admin' });
    const run = await h.waitFor(runId, (r) => r.steps.other?.status === 'waiting_approval');
    expect(run.steps.gate).toMatchObject({ status: 'completed', decidedBy: 'admin', output: { approved: true, by: 'admin', comment: 'alice is away' } });
    expect(run.steps.ship.status).toBe('completed');

    const overridden = { by: 'admin', comment: 'alice is away', override: true, approvers: ['user:alice'] };
    expect(await decision(runId, 'gate')).toEqual({ event: 'plan.step_approved', details: overridden });
    const [event] = await eventually(async () => decisionEvents(runId), (e) => e.length > 0);
    expect(event).toMatchObject({ type: 'plan.step_approved', data: { runId, stepId: 'gate', details: overridden } });

    // The step's own approver decides as before: no override recorded.
    await (await h.as('user:carol')).post(`/api/v1/plans/runs/${runId}/steps/other/approve`).send({}).expect(200);
    await h.waitFor(runId, (r) => r.status === 'completed');
    expect(await decision(runId, 'other')).toEqual({ event: 'plan.step_approved', details: { by: 'user:carol' } });
  });

  test('admin rejects a step that names only user:alice: the step fails as rejected by admin overriding alice, and its onFailure decides', async () => {
    const runId = await waitingForAlice('continue');
    await h.api.post(`/api/v1/plans/runs/${runId}/steps/gate/reject`).send({ comment: 'not while alice is away' }).expect(200);
    const run = await h.waitFor(runId, (r) => r.status === 'completed');
    expect(run.steps).toMatchObject({ gate: { status: 'failed', decidedBy: 'admin', error: 'rejected by admin, overriding user:alice' }, ship: { status: 'skipped' }, other: { status: 'skipped' } });
    expect(await decision(runId, 'gate')).toEqual({ event: 'plan.step_rejected', details: { by: 'admin', comment: 'not while alice is away', override: true, approvers: ['user:alice'] } });
  });

  test('anyone else not among the approvers is still FORBIDDEN, also when they may read the run, and the step keeps waiting', async () => {
    const runId = await waitingForAlice();
    // bob started the run, carol is an approver of another step: both may read it; mallory may not.
    for (const principal of ['user:bob', 'user:carol', 'user:mallory']) {
      const client = await h.as(principal);
      for (const action of ['approve', 'reject']) {
        const res = await client.post(`/api/v1/plans/runs/${runId}/steps/gate/${action}`).send({}).expect(403);
        expect({ principal, action, body: res.body }).toEqual({ principal, action, body: { error: { code: 'FORBIDDEN', message: expect.any(String), details: { runId } } } });
      }
    }
    expect((await h.run(runId)).steps.gate).toEqual({ status: 'waiting_approval', generation: 0 });
    const rows = await h.stack.prisma.planHistory.findMany({ where: { runId, stepId: 'gate' }, orderBy: { sequence: 'asc' } });
    expect(rows.map((r) => r.event)).toEqual(['plan.step_started', 'plan.approval_required']);

    // The refusals changed nothing: alice still decides, as herself.
    await (await h.as('user:alice')).post(`/api/v1/plans/runs/${runId}/steps/gate/approve`).send({}).expect(200);
    expect(await decision(runId, 'gate')).toEqual({ event: 'plan.step_approved', details: { by: 'user:alice' } });
    await h.api.post(`/api/v1/plans/runs/${runId}/cancel`).send({}).expect(202);
  });
});
