import { buildTriggerApp } from './support/trigger-app';
import { openTestStack, type TestStack } from './support/test-stack';

type Problem = { error: { code: string; message: string; details: { cycle: { id: string; name: string }[] } } };

describe('trigger cycles are refused at create/update/enable when the stored definitions prove them', () => {
  let stack: TestStack;
  let t: Awaited<ReturnType<typeof buildTriggerApp>>;
  const created: string[] = [];

  beforeAll(async () => {
    stack = await openTestStack();
    t = await buildTriggerApp(stack);
  });
  afterAll(async () => {
    for (const id of created) await t.api.delete(`/api/v1/triggers/${id}`);
    await stack.close();
  });

  const createPlan = async (name: string) => (await t.api.post('/api/v1/plans').send({ name, steps: [{ id: 'echo', kind: 'tool', tool: 'core.echo', args: {} }] }).expect(201)).body.id as string;
  const create = async (body: Record<string, unknown>) => {
    const id = (await t.api.post('/api/v1/triggers').send({ type: 'event', ...body }).expect(201)).body.id as string;
    created.push(id);
    return id;
  };
  const refusedCreate = async (body: Record<string, unknown>) => (await t.api.post('/api/v1/triggers').send({ type: 'event', ...body }).expect(422)).body as Problem;
  const onPlanCompleted = (planId: string) => ({ pattern: 'plan.completed', filter: { path: 'data.planId', op: 'eq', value: planId } });
  const countNamed = (name: string) => stack.prisma.trigger.count({ where: { name } });

  test('self-cycles: a tool that creates what the trigger listens to, a plan whose completion fires its own trigger', async () => {
    const onNote = { pattern: 'resource.created', filter: { all: [{ path: 'data.resourceType', op: 'eq', value: 'notes' }, { path: 'data.data.title', op: 'eq', value: 'again' }] } };
    const tool = await refusedCreate({ name: 'note echo', config: onNote, action: { kind: 'tool', tool: 'core.notes.create', args: { title: 'again' } } });
    expect(tool.error).toMatchObject({ code: 'UNPROCESSABLE', message: "trigger 'note echo' would close a cycle: note echo → note echo" });
    expect(tool.error.details.cycle.map((c) => c.name)).toEqual(['note echo', 'note echo']);
    // A title that is a template is unknown at definition time: the filter may match, so it is refused too.
    await refusedCreate({ name: 'note echo 2', config: onNote, action: { kind: 'tool', tool: 'core.notes.create', args: { title: '{{payload.data.data.title}}' } } });

    const plan = await createPlan('self plan');
    const viaPlan = await refusedCreate({ name: 'plan echo', config: onPlanCompleted(plan), action: { kind: 'plan', planId: plan } });
    expect(viaPlan.error.message).toBe("trigger 'plan echo' would close a cycle: plan echo → plan echo");
    // Refused means nothing stored.
    expect(await countNamed('note echo')).toBe(0);
    expect(await countNamed('plan echo')).toBe(0);
  });

  test('a firing is known to act for its creator via the trigger: tool.executed names both, resources are the creator’s', async () => {
    // The creator is admin (the test's key): a filter on the resource's source sees the trigger's own note.
    const bySource = { pattern: 'resource.created', filter: { all: [{ path: 'source', op: 'eq', value: 'admin' }, { path: 'data.resourceType', op: 'eq', value: 'notes' }] } };
    await refusedCreate({ name: 'admin notes', config: bySource, action: { kind: 'tool', tool: 'core.notes.create', args: { title: 'x' } } });
    // A filter on `via` names the trigger's own calls; `requesterId` is the creator, never the trigger.
    const echo = { kind: 'tool', tool: 'core.echo', args: {} };
    const onCalls = (path: string, value: string) => ({ pattern: 'tool.executed', filter: { all: [{ path: 'data.tool', op: 'eq', value: 'core.echo' }, { path, op: 'eq', value }] } });
    const viaSelf = await create({ name: 'via self', enabled: false, config: onCalls('data.via', 'trigger:later'), action: echo });
    await t.api.patch(`/api/v1/triggers/${viaSelf}`).send({ config: { filter: onCalls('data.via', `trigger:${viaSelf}`).filter } }).expect(200);
    expect((await t.api.post(`/api/v1/triggers/${viaSelf}/enable`).expect(422)).body.error.message).toBe("trigger 'via self' would close a cycle: via self → via self");
    const asSelf = await create({ name: 'as self', enabled: false, config: onCalls('data.requesterId', 'trigger:later'), action: echo });
    await t.api.patch(`/api/v1/triggers/${asSelf}`).send({ config: { filter: onCalls('data.requesterId', `trigger:${asSelf}`).filter } }).expect(200);
    await t.api.post(`/api/v1/triggers/${asSelf}/enable`).expect(200);
    // A plan action's steps (and its sub-plans') call through the trigger too.
    const planEcho = { kind: 'plan', planId: (await t.api.post('/api/v1/plans').send({ name: 'echo outer', steps: [{ id: 'sub', kind: 'sub_plan', planId: await createPlan('echo inner') }] }).expect(201)).body.id as string };
    const planViaSelf = await create({ name: 'plan via self', enabled: false, config: onCalls('data.via', 'trigger:later'), action: planEcho });
    await t.api.patch(`/api/v1/triggers/${planViaSelf}`).send({ config: { filter: onCalls('data.via', `trigger:${planViaSelf}`).filter } }).expect(200);
    expect((await t.api.post(`/api/v1/triggers/${planViaSelf}/enable`).expect(422)).body.error.message).toBe("trigger 'plan via self' would close a cycle: plan via self → plan via self");
    // Their `via` is known, so calls through another trigger are no cycle.
    const planViaOther = await create({ name: 'plan via other', enabled: false, config: onCalls('data.via', 'trigger:other'), action: planEcho });
    await t.api.post(`/api/v1/triggers/${planViaOther}/enable`).expect(200);
  });

  test('A ↔ B through plan events is refused with the path; the same shape without a way back is accepted', async () => {
    const [planA, planB, planC] = [await createPlan('plan A'), await createPlan('plan B'), await createPlan('plan C')];
    // A runs plan A whenever plan B completes: alone, no cycle.
    const a = await create({ name: 'cyc A', config: onPlanCompleted(planB), action: { kind: 'plan', planId: planA } });
    // B runs plan B whenever plan A completes: B → A → B.
    const problem = await refusedCreate({ name: 'cyc B', config: onPlanCompleted(planA), action: { kind: 'plan', planId: planB } });
    expect(problem.error.message).toBe("trigger 'cyc B' would close a cycle: cyc B → cyc A → cyc B");
    expect(problem.error.details.cycle.map((c) => c.name)).toEqual(['cyc B', 'cyc A', 'cyc B']);
    expect(problem.error.details.cycle[1]!.id).toBe(a);
    // Through a sub-plan: B's plan C runs plan B as a sub-plan, whose completion fires A.
    const planD = (await t.api.post('/api/v1/plans').send({ name: 'plan D', steps: [{ id: 'sub', kind: 'sub_plan', planId: planB }] }).expect(201)).body.id as string;
    const viaSub = await refusedCreate({ name: 'cyc B2', config: onPlanCompleted(planA), action: { kind: 'plan', planId: planD } });
    expect(viaSub.error.message).toBe("trigger 'cyc B2' would close a cycle: cyc B2 → cyc A → cyc B2");

    // Non-cycles: B runs plan C (nothing listens to it); a filter that statically fails; a trigger on its own trigger.executed (the dispatcher never feeds a trigger its own trigger.* events).
    await create({ name: 'not cyc B', config: onPlanCompleted(planA), action: { kind: 'plan', planId: planC } });
    await create({ name: 'other title', config: { pattern: 'resource.created', filter: { path: 'data.data.title', op: 'eq', value: 'cycle-check other' } }, action: { kind: 'tool', tool: 'core.notes.create', args: { title: 'cycle-check mine' } } });
    const own = await create({ name: 'own executed', config: { pattern: 'trigger.executed' }, action: { kind: 'tool', tool: 'core.echo', args: {} } });
    await t.api.patch(`/api/v1/triggers/${own}`).send({ config: { pattern: 'trigger.executed', filter: { path: 'data.triggerId', op: 'eq', value: own } } }).expect(200);
    await t.api.delete(`/api/v1/triggers/${own}`).expect(204);
  });

  test('A ↔ B through trigger.executed: the update that closes it is refused and the stored trigger is unchanged; enabling a disabled one that closes it too', async () => {
    const echo = { kind: 'tool', tool: 'core.echo', args: {} };
    const a = await create({ name: 'exec A', config: { pattern: 'trigger.executed', filter: { path: 'data.triggerId', op: 'eq', value: 'nobody' } }, action: echo });
    const b = await create({ name: 'exec B', config: { pattern: 'trigger.executed', filter: { path: 'data.triggerId', op: 'eq', value: a } }, action: echo });
    const closing = { pattern: 'trigger.executed', filter: { path: 'data.triggerId', op: 'eq', value: b } };
    const problem = (await t.api.patch(`/api/v1/triggers/${a}`).send({ config: closing }).expect(422)).body as Problem;
    expect(problem.error.message).toBe("trigger 'exec A' would close a cycle: exec A → exec B → exec A");
    expect(problem.error.details.cycle.map((c) => c.id)).toEqual([a, b, a]);
    expect((await t.api.get(`/api/v1/triggers/${a}`).expect(200)).body.config.filter.value).toBe('nobody');

    // Disabled triggers are not part of the graph: storing or changing one is fine, enabling it is checked.
    const on = (id: string) => ({ pattern: 'trigger.executed', filter: { path: 'data.triggerId', op: 'eq', value: id } });
    const c = await create({ name: 'exec C', enabled: false, config: on('nobody'), action: echo });
    const d = await create({ name: 'exec D', config: on(c), action: echo });
    await t.api.patch(`/api/v1/triggers/${c}`).send({ config: on(d) }).expect(200);
    const enabling = (await t.api.post(`/api/v1/triggers/${c}/enable`).expect(422)).body as Problem;
    expect(enabling.error.message).toBe("trigger 'exec C' would close a cycle: exec C → exec D → exec C");
    expect((await t.api.get(`/api/v1/triggers/${c}`).expect(200)).body.isEnabled).toBe(false);
    // Once D is disabled the way back is gone.
    await t.api.post(`/api/v1/triggers/${d}/disable`).expect(200);
    await t.api.post(`/api/v1/triggers/${c}/enable`).expect(200);
  });
});
