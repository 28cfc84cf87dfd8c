import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import { createPlanService } from '../activities/plans/plan-service';
import { everyToolAllowed, openPlanHarness, type PlanHarness, type RunBody, undo } from './support/plan-harness';
import { eventually } from './support/wait';

// Which plans a sub_plan step may run (its plan owner's, or any for admin), at save time and at
// run time; retry policies on sub_plan steps; timeout and retry only where a step kind honours them.
describe('plan rules: sub-plan ownership, sub-plan retries, timeout and retry by step kind', () => {
  let h: PlanHarness;
  beforeAll(async () => {
    h = await openPlanHarness();
  });
  afterAll(() => h.close());
  const ended = (runId: string, status: string) => h.waitFor(runId, (r) => r.status === status && r.source === 'database');
  const undone = (runId: string) => h.calls.filter((c) => c.idempotencyKey?.startsWith(`${runId}/`) && c.idempotencyKey.endsWith('/compensate')).map((c) => c.args.undo);
  const childRuns = (parentRunId: string) => h.stack.prisma.planRun.findMany({ where: { parentRunId }, orderBy: { runNumber: 'asc' } });
  const attempts = (run: RunBody, stepId: string) =>
    run.history.filter((r: { stepId?: string; event: string }) => r.stepId === stepId && r.event === 'plan.step_attempt').map((r: { details: Record<string, unknown> }) => r.details);
  const logPlan = (marker: string) => ({ name: `plan-${marker}`, steps: [{ id: 'x', kind: 'tool', tool: 'core.test.log', args: { marker } }] });
  const subPlan = (planId: string, extra: Record<string, unknown> = {}) => ({ name: 'parent', steps: [{ id: 'sub', kind: 'sub_plan', planId, ...extra }] });

  describe('a sub_plan step may run only plans its plan’s owner may use', () => {
    let alice: Awaited<ReturnType<PlanHarness['as']>>;
    let bobsPlan: string;
    let alicesChild: string;
    beforeAll(async () => {
      alice = await h.as('user:alice');
      const bob = await h.as('user:bob');
      bobsPlan = (await bob.post('/api/v1/plans').send(logPlan('BOB')).expect(201)).body.id;
      alicesChild = (await alice.post('/api/v1/plans').send(logPlan('ALICE')).expect(201)).body.id;
    });
    /** The 422 body with the plan id blanked, so a foreign plan's answer can be compared with a missing one's. */
    const blanked = (body: unknown, planId: string) => JSON.parse(JSON.stringify(body).split(planId).join('<id>'));

    test('create: another user’s plan is refused exactly like a plan that does not exist; own plans (and any, for admin) are accepted', async () => {
      const before = await h.stack.prisma.plan.count({ where: { createdBy: 'user:alice' } });
      const missing = await alice.post('/api/v1/plans').send(subPlan('no-such-plan')).expect(422);
      const foreign = await alice.post('/api/v1/plans').send(subPlan(bobsPlan)).expect(422);
      expect(foreign.body.error).toMatchObject({ code: 'UNPROCESSABLE', details: { problems: [{ code: 'UNKNOWN_PLAN', stepId: 'sub' }] } });
      expect(foreign.body.error.message).toBe(`step 'sub' runs plan '${bobsPlan}', which does not exist`);
      expect(blanked(foreign.body, bobsPlan)).toEqual(blanked(missing.body, 'no-such-plan'));
      expect(await h.stack.prisma.plan.count({ where: { createdBy: 'user:alice' } })).toBe(before);

      await alice.post('/api/v1/plans').send(subPlan(alicesChild)).expect(201);
      await h.createPlan(subPlan(bobsPlan)); // admin may use any plan
    });

    test('update: PATCH, PUT steps and POST steps refuse another user’s plan, also when admin edits the user’s plan', async () => {
      const id = (await alice.post('/api/v1/plans').send(subPlan(alicesChild)).expect(201)).body.id as string;
      const foreignSteps = subPlan(bobsPlan).steps;
      const refusals = [
        await alice.patch(`/api/v1/plans/${id}`).send({ steps: foreignSteps }).expect(422),
        await alice.put(`/api/v1/plans/${id}/steps`).send(foreignSteps).expect(422),
        await alice.post(`/api/v1/plans/${id}/steps`).send({ id: 'more', kind: 'sub_plan', planId: bobsPlan }).expect(422),
        await h.api.patch(`/api/v1/plans/${id}`).send({ steps: foreignSteps }).expect(422), // admin editing alice's plan
      ];
      for (const res of refusals) {
        expect(res.body.error.details.problems).toEqual([expect.objectContaining({ code: 'UNKNOWN_PLAN', message: expect.stringMatching(/which does not exist/) })]);
      }
      const plan = await h.stack.prisma.plan.findUniqueOrThrow({ where: { id } });
      expect({ version: plan.version, versions: await h.stack.prisma.planVersion.count({ where: { planId: id } }) }).toEqual({ version: 1, versions: 1 });
      // admin may change alice's plan to run another of alice's plans
      const other = (await alice.post('/api/v1/plans').send(logPlan('ALICE2')).expect(201)).body.id as string;
      expect((await h.api.patch(`/api/v1/plans/${id}`).send({ steps: subPlan(other).steps }).expect(200)).body.version).toBe(2);
    });

    test('run time: a definition stored before the rule (written directly) fails its step FORBIDDEN, whoever or whatever starts it (user, admin, trigger); the child never starts and is not retried', async () => {
      const id = (await alice.post('/api/v1/plans').send(subPlan(alicesChild)).expect(201)).body.id as string;
      const stored = await h.stack.prisma.plan.findUniqueOrThrow({ where: { id } });
      const definition = stored.definition as { steps: Record<string, unknown>[] };
      const forged = { ...definition, steps: [{ ...definition.steps[0], planId: bobsPlan, retry: { maximumAttempts: 3, initialInterval: '100ms' } }] };
      await h.stack.prisma.plan.update({ where: { id }, data: { definition: forged } });

      const byAlice = (await alice.post(`/api/v1/plans/${id}/execute`).send({}).expect(202)).body.runId as string;
      // checked against the plan's owner, not against who or what starts the run
      const byAdmin = await h.execute(id);
      const service = createPlanService({ prisma: h.stack.prisma, temporal: h.stack.client, taskQueue: h.stack.taskQueue, tools: everyToolAllowed });
      const byTrigger = (await service.executePlan(id, {}, 'trigger:t1')).runId; // as the trigger service starts runs
      for (const runId of [byAlice, byAdmin, byTrigger]) {
        const run = await ended(runId, 'failed');
        expect(run.steps.sub).toMatchObject({ status: 'failed', error: `user:alice may not use plan '${bobsPlan}'` });
        expect(run.history.map((r: { event: string }) => r.event)).toEqual(expect.arrayContaining(['plan.step_failed', 'plan.failed']));
        expect(attempts(run, 'sub')).toHaveLength(0); // no child was allocated, so no attempt was made
        expect(await childRuns(runId)).toEqual([]);
      }
      expect(await h.stack.prisma.planRun.count({ where: { planId: bobsPlan } })).toBe(0);
      expect((await h.stack.prisma.plan.findUniqueOrThrow({ where: { id: bobsPlan } })).runCount).toBe(0);
      await expect(h.stack.client.workflow.getHandle(`plan-${bobsPlan}-1`).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
      expect(h.calls.filter((c) => c.args.marker === 'BOB')).toEqual([]);
    });
  });

  describe('a sub_plan step with a retry policy', () => {
    test('re-runs a failed child as a new child run with its own start key; the parent completes with the second one’s outputs', async () => {
      const token = randomUUID();
      const child = await h.createPlan({ name: 'fails-once', steps: [{ id: 'once', kind: 'tool', tool: 'core.test.fail_once', args: { token } }] });
      const runId = await h.execute(await h.createPlan(subPlan(child, { retry: { maximumAttempts: 2, initialInterval: '100ms' } })));
      const run = await ended(runId, 'completed');
      const children = await childRuns(runId);
      expect(children.map((c) => [c.status, c.startKey])).toEqual([
        ['failed', `${runId}/sub/0`],
        ['completed', `${runId}/sub/0/attempt-2`],
      ]);
      expect(run.steps.sub).toMatchObject({ status: 'completed', output: { runId: children[1]!.id, outputs: { once: { token } } } });
      expect(attempts(run, 'sub')).toEqual([
        { attempt: 1, childRunId: children[0]!.id },
        { attempt: 2, childRunId: children[1]!.id, previousError: expect.stringMatching(/first call with token/) },
      ]);
    });

    test('exhausted: after maximumAttempts failed children the step fails and its onFailure (rollback) decides', async () => {
      const child = await h.createPlan({ name: 'always-fails', steps: [{ id: 'bad', kind: 'tool', tool: 'core.test.fail', args: { reason: 'child broke' } }] });
      const parent = await h.createPlan({
        name: 'parent-exhausted',
        steps: [
          { id: 'p1', kind: 'tool', tool: 'core.test.log', args: { id: 'XP1' }, compensation: undo('p1') },
          { id: 'sub', kind: 'sub_plan', planId: child, dependsOn: ['p1'], retry: { maximumAttempts: 2, initialInterval: '100ms', backoffCoefficient: 3 }, onFailure: 'rollback' },
        ],
      });
      const runId = await h.execute(parent);
      const run = await ended(runId, 'rolled_back');
      expect(run.steps).toMatchObject({ p1: { status: 'compensated' }, sub: { status: 'failed', error: expect.stringMatching(/child broke/) } });
      expect(undone(runId)).toEqual(['XP1']);
      expect((await childRuns(runId)).map((c) => c.status)).toEqual(['failed', 'failed']);
      expect(attempts(run, 'sub').map((d: { attempt: number }) => d.attempt)).toEqual([1, 2]);
    });

    test('the step’s timeout bounds each attempt: every timed-out child is cancelled and a new one starts', async () => {
      const child = await h.createPlan({ name: 'too-slow', steps: [{ id: 'slow', kind: 'tool', tool: 'core.wait', args: { ms: 60_000 } }] });
      const runId = await h.execute(await h.createPlan(subPlan(child, { timeout: '1s', retry: { maximumAttempts: 2, initialInterval: '100ms' }, onFailure: 'continue' })));
      const run = await ended(runId, 'completed');
      const children = await childRuns(runId);
      expect(children.map((c) => c.status)).toEqual(['cancelled', 'cancelled']);
      expect(run.steps.sub).toMatchObject({ status: 'failed', error: `sub-plan ${children[1]!.id} timed out after 1000 ms` });
      expect(attempts(run, 'sub')[1]).toMatchObject({ attempt: 2, previousError: `sub-plan ${children[0]!.id} timed out after 1000 ms` });
    });

    test('a run that starts failing starts no new attempt, also while one waits for its interval', async () => {
      const child = await h.createPlan({ name: 'child-fails', steps: [{ id: 'bad', kind: 'tool', tool: 'core.test.fail', args: { reason: 'child broke' } }] });
      const parent = await h.createPlan({
        name: 'parent-fails-elsewhere',
        steps: [
          { id: 'sub', kind: 'sub_plan', planId: child, retry: { maximumAttempts: 5, initialInterval: '10m' } },
          { id: 'other', kind: 'tool', tool: 'core.test.fail', args: { reason: 'other broke' } },
        ],
      });
      const runId = await h.execute(parent);
      const run = await ended(runId, 'failed');
      expect(run.steps).toMatchObject({ sub: { status: 'failed', error: expect.stringMatching(/child broke/) }, other: { status: 'failed' } });
      expect((await childRuns(runId)).map((c) => c.status)).toEqual(['failed']);
    });

    test('cancelling the parent while it waits to retry starts no new attempt: the run ends cancelled', async () => {
      const child = await h.createPlan({ name: 'child-fails', steps: [{ id: 'bad', kind: 'tool', tool: 'core.test.fail', args: { reason: 'child broke' } }] });
      const runId = await h.execute(await h.createPlan(subPlan(child, { retry: { maximumAttempts: 3, initialInterval: '10m' } })));
      await eventually(() => childRuns(runId), (rows) => rows.length === 1 && rows[0]!.status === 'failed');
      await h.api.post(`/api/v1/plans/runs/${runId}/cancel`).send({}).expect(202);
      const run = await ended(runId, 'cancelled');
      expect(run.steps.sub.status).toBe('cancelled');
      expect((await childRuns(runId)).map((c) => c.status)).toEqual(['failed']);
    });

    test('a child cancelled on its own is not retried: the step fails and the run ends by its onFailure', async () => {
      const child = await h.createPlan({ name: 'cancelled-child', steps: [{ id: 'slow', kind: 'tool', tool: 'core.wait', args: { ms: 60_000 } }] });
      const runId = await h.execute(await h.createPlan(subPlan(child, { retry: { maximumAttempts: 3, initialInterval: '100ms' } })));
      const [first] = await eventually(() => childRuns(runId), (rows) => rows.length === 1);
      await h.waitFor(first!.id, (r) => r.steps.slow?.status === 'running');
      await h.api.post(`/api/v1/plans/runs/${first!.id}/cancel`).send({}).expect(202);
      await ended(first!.id, 'cancelled');
      const parent = await ended(runId, 'failed');
      expect(parent.steps.sub).toMatchObject({ status: 'failed', error: expect.stringMatching(/cancel/i) });
      expect((await childRuns(runId)).map((c) => c.status)).toEqual(['cancelled']);
    });
  });

  describe('timeout and retry only where the step kind honours them', () => {
    test('a wait step fails with its timeout when the wait would outlast it; a shorter wait completes', async () => {
      const id = await h.createPlan({
        name: 'wait-timeouts',
        steps: [
          { id: 'long', kind: 'wait', duration: '10m', timeout: '300ms', onFailure: 'continue' },
          { id: 'after', kind: 'tool', tool: 'core.test.log', args: {}, dependsOn: ['long'] },
          { id: 'short', kind: 'wait', duration: '50ms', timeout: '1m' },
        ],
      });
      const run = await ended(await h.execute(id), 'completed');
      expect(run.steps).toMatchObject({
        long: { status: 'failed', error: 'wait of 600000 ms timed out after 300 ms' },
        after: { status: 'skipped' },
        short: { status: 'completed', output: { waitedMs: 50 } },
      });
    });

    test('timeout on condition and approval steps, retry on condition, approval and wait steps: 422 naming each step', async () => {
      const before = await h.stack.prisma.plan.count();
      const steps = [
        { id: 'cond', kind: 'condition', expression: 'true', timeout: '1s' },
        { id: 'gate', kind: 'approval', timeout: '1s' },
        { id: 'cond2', kind: 'condition', expression: 'true', retry: { maximumAttempts: 2 } },
        { id: 'gate2', kind: 'approval', retry: { maximumAttempts: 2 } },
        { id: 'pause', kind: 'wait', duration: '1s', retry: { maximumAttempts: 2 } },
      ];
      const all = await h.api.post('/api/v1/plans').send({ name: 'bad-fields', steps }).expect(422);
      expect(all.body.error.details.problems).toEqual([
        { code: 'UNSUPPORTED_FIELD', stepId: 'cond', message: "step 'cond' (condition) cannot take a timeout" },
        { code: 'UNSUPPORTED_FIELD', stepId: 'gate', message: "step 'gate' (approval) cannot take a timeout: use approvalTimeout" },
        { code: 'UNSUPPORTED_FIELD', stepId: 'cond2', message: "step 'cond2' (condition) cannot take a retry policy" },
        { code: 'UNSUPPORTED_FIELD', stepId: 'gate2', message: "step 'gate2' (approval) cannot take a retry policy" },
        { code: 'UNSUPPORTED_FIELD', stepId: 'pause', message: "step 'pause' (wait) cannot take a retry policy" },
      ]);
      for (const step of steps) {
        const res = await h.api.post('/api/v1/plans').send({ name: 'bad-field', steps: [step] }).expect(422);
        expect(res.body.error.message).toMatch(new RegExp(`^step '${step.id}' \\(${step.kind}\\) cannot take`));
      }
      expect(await h.stack.prisma.plan.count()).toBe(before);
      // the same fields through PATCH
      const id = await h.createPlan({ name: 'fine', steps: [{ id: 'pause', kind: 'wait', duration: '1s', timeout: '5s' }] });
      await h.api.patch(`/api/v1/plans/${id}`).send({ steps: [steps[4]] }).expect(422);
    });
  });
});
