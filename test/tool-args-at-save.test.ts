import { newId } from '../platform/ids';
import { openPlanHarness, type PlanHarness } from './support/plan-harness';
import { buildTriggerApp } from './support/trigger-app';

// Tool arguments are checked with the executor's own validator when a plan or trigger is saved:
// what is literal must pass, a templated value passes whatever it is.
describe('tool arguments are checked when a plan or trigger is saved', () => {
  let h: PlanHarness;
  let custom: string;

  beforeAll(async () => {
    h = await openPlanHarness();
    // A JSON-schema tool: its arguments go through ajv, the built-ins' through zod.
    const name = `argcheck_${newId(6).toLowerCase()}`;
    await h.stack.tools.registerCustomTool('alice', {
      name, description: 'takes a number', requiresApproval: false, code: 'return args',
      parameters: { type: 'object', properties: { n: { type: 'number' }, unit: { enum: ['s', 'ms'] } }, required: ['n'], additionalProperties: false },
    });
    custom = `custom.${name}`;
  });
  afterAll(() => h.close());

  const plansNamed = (name: string) => h.stack.prisma.plan.count({ where: { name } });

  test('a literal of the wrong type is refused: 422 naming the step and the validator\'s messages, nothing stored', async () => {
    const res = await h.api.post('/api/v1/plans').send({
      name: 'wrong type',
      steps: [
        { id: 'hello', kind: 'tool', tool: 'core.echo', args: { anything: [1, 'x'] } },
        { id: 'sum', kind: 'tool', tool: 'core.math', args: { op: 'add', values: [1, 'two'] }, dependsOn: ['hello'] },
      ],
    }).expect(422);
    expect(res.body.error).toEqual({
      code: 'UNPROCESSABLE',
      message: "step 'sum': invalid arguments for core.math: /values/1 Invalid input: expected number, received string",
      details: { problems: [{ code: 'BAD_ARGS', stepId: 'sum', tool: 'core.math', message: "step 'sum': invalid arguments for core.math: /values/1 Invalid input: expected number, received string", issues: [{ path: '/values/1', message: 'Invalid input: expected number, received string' }] }] },
    });
    const ajv = await h.api.post('/api/v1/plans').send({ name: 'wrong type', steps: [{ id: 'n', kind: 'tool', tool: custom, args: { n: 'five', extra: true } }] }).expect(422);
    expect(ajv.body.error.details.problems).toEqual([
      expect.objectContaining({ code: 'BAD_ARGS', stepId: 'n', tool: custom, issues: [{ path: '/', message: 'must NOT have additional properties {"additionalProperty":"extra"}' }, { path: '/n', message: 'must be number {"type":"number"}' }] }),
    ]);
    expect(await plansNamed('wrong type')).toBe(0);
  });

  test('a missing required field is refused, in a step and in a compensation, each named', async () => {
    const res = await h.api.post('/api/v1/plans').send({
      name: 'missing field',
      steps: [
        { id: 'sum', kind: 'tool', tool: 'core.math', args: { op: 'add' }, compensation: { tool: 'core.test.hold', args: {} } },
        { id: 'n', kind: 'tool', tool: custom, args: { unit: 's' } },
      ],
    }).expect(422);
    expect(res.body.error.message).toMatch(/^3 problems: /);
    expect(res.body.error.details.problems).toEqual([
      expect.objectContaining({ code: 'BAD_ARGS', stepId: 'sum', tool: 'core.math', message: "step 'sum': invalid arguments for core.math: /values Invalid input: expected array, received undefined" }),
      expect.objectContaining({ code: 'BAD_ARGS', stepId: 'sum', tool: 'core.test.hold', message: "compensation of step 'sum': invalid arguments for core.test.hold: /token Invalid input: expected string, received undefined" }),
      expect.objectContaining({ code: 'BAD_ARGS', stepId: 'n', tool: custom, issues: [{ path: '/', message: 'must have required property \'n\' {"missingProperty":"n"}' }] }),
    ]);
    expect(await plansNamed('missing field')).toBe(0);
  });

  test('templated values in typed positions are accepted, and the run gets the values they resolve to', async () => {
    const planId = await h.createPlan({
      name: 'templated',
      steps: [
        { id: 'sum', kind: 'tool', tool: 'core.math', args: { op: '{{ input.op }}', values: ['{{ input.a }}', 2] } },
        { id: 'max', kind: 'tool', tool: 'core.math', args: { op: 'max', values: '{{ input.values }}' } },
        { id: 'n', kind: 'tool', tool: custom, args: { n: '{{ steps.sum.output.result }}', unit: '{{ input.unit }}' }, dependsOn: ['sum'] },
      ],
    });
    const run = await h.waitFor(await h.execute(planId, { input: { op: 'add', a: 40, values: [3, 9], unit: 'ms' } }), (r) => r.status === 'completed');
    expect([run.steps.sum.output, run.steps.max.output, run.steps.n.output]).toEqual([{ result: 42 }, { result: 9 }, { n: 42, unit: 'ms' }]);
  });

  test('a plan whose literal arguments are valid is accepted', async () => {
    const planId = await h.createPlan({
      name: 'valid',
      steps: [
        { id: 'sum', kind: 'tool', tool: 'core.math', args: { op: 'mul', values: [6, 7] }, compensation: { tool: 'core.test.log', args: { undo: 'sum' } } },
        { id: 'get', kind: 'tool', tool: 'core.json.get', args: { value: { a: [1] }, path: 'a[0]' } },
        { id: 'n', kind: 'tool', tool: custom, args: { n: 5, unit: 's' } },
      ],
    });
    expect((await h.api.get(`/api/v1/plans/${planId}`).expect(200)).body.version).toBe(1);
  });

  test('an update that breaks arguments is refused and the stored plan stays as it was, version included', async () => {
    const planId = await h.createPlan({ name: 'kept', steps: [{ id: 'sum', kind: 'tool', tool: 'core.math', args: { op: 'add', values: [1, 2] } }] });
    const stored = async () => {
      const plan = (await h.api.get(`/api/v1/plans/${planId}`).expect(200)).body;
      return { version: plan.version, definition: plan.definition, steps: plan.steps.map((s: { stepId: string; config: unknown }) => [s.stepId, s.config]), versions: await h.stack.prisma.planVersion.count({ where: { planId } }) };
    };
    const before = await stored();
    const patched = await h.api.patch(`/api/v1/plans/${planId}`).send({ steps: [{ id: 'sum', kind: 'tool', tool: 'core.math', args: { op: 'add', values: 'x' } }] }).expect(422);
    expect(patched.body.error.details.problems).toEqual([expect.objectContaining({ code: 'BAD_ARGS', stepId: 'sum' })]);
    const added = await h.api.post(`/api/v1/plans/${planId}/steps`).send({ id: 'more', kind: 'tool', tool: custom, args: { n: 1, unit: 'h' } }).expect(422);
    expect(added.body.error.details.problems).toEqual([expect.objectContaining({ code: 'BAD_ARGS', stepId: 'more', issues: [expect.objectContaining({ path: '/unit' })] })]);
    await h.api.put(`/api/v1/plans/${planId}/steps`).send([{ id: 'sum', kind: 'tool', tool: 'core.math', args: { values: [1] } }]).expect(422);
    expect(await stored()).toEqual(before);
    expect(before.version).toBe(1);
  });

  test('trigger tool actions and condition tool arguments are checked the same way', async () => {
    const t = await buildTriggerApp(h.stack);
    const triggersNamed = (name: string) => h.stack.prisma.trigger.count({ where: { name } });
    const refused = await t.api.post('/api/v1/triggers').send({ name: 'bad action', type: 'webhook', action: { kind: 'tool', tool: 'core.math', args: { op: 'add', values: 'x' } } }).expect(422);
    expect(refused.body.error).toMatchObject({
      code: 'UNPROCESSABLE',
      message: 'action.args: invalid arguments for core.math: /values Invalid input: expected array, received string',
      details: { problems: [{ code: 'BAD_ARGS', field: 'action.args', tool: 'core.math', issues: [{ path: '/values', message: 'Invalid input: expected array, received string' }] }] },
    });
    expect(await triggersNamed('bad action')).toBe(0);
    // A condition's arguments are sent as they are: a `{{...}}` there is a literal string.
    const condition = await t.api.post('/api/v1/triggers').send({
      name: 'bad condition', type: 'condition',
      config: { tool: custom, args: { n: '{{payload.n}}' }, expression: { path: 'result.n', op: 'gte', value: 1 }, intervalSeconds: 60 },
      action: { kind: 'tool', tool: 'core.echo', args: {} },
    }).expect(422);
    expect(condition.body.error.details.problems).toEqual([expect.objectContaining({ code: 'BAD_ARGS', field: 'config.args', tool: custom, issues: [{ path: '/n', message: 'must be number {"type":"number"}' }] })]);
    expect(await triggersNamed('bad condition')).toBe(0);

    // An action's `{{payload.x}}` is filled by the firing: any value now.
    const created = await t.api.post('/api/v1/triggers').send({ name: 'templated action', type: 'webhook', action: { kind: 'tool', tool: 'core.math', args: { op: 'add', values: '{{payload.values}}' } } }).expect(201);
    const id = created.body.id as string;
    const before = await h.stack.prisma.trigger.findUniqueOrThrow({ where: { id } });
    await t.api.patch(`/api/v1/triggers/${id}`).send({ action: { kind: 'tool', tool: 'core.math', args: { op: 'pow', values: '{{payload.values}}' } } }).expect(422);
    expect(await h.stack.prisma.trigger.findUniqueOrThrow({ where: { id } })).toEqual(before);
    await t.api.delete(`/api/v1/triggers/${id}`).expect(204);
  });
});
