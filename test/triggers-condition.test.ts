import { z } from 'zod';
import { defineTool } from '../activities/tools/tool-types';
import { createTriggerActivities } from '../activities/triggers/trigger-activities';
import { buildTriggerApp } from './support/trigger-app';
import { openTestStack, type TestStack } from './support/test-stack';
import { eventually } from './support/wait';

// The watched outside world: a gauge the test turns up and down, and how often it was read.
const gauges = new Map<string, { level: number; reads: number }>();
const gaugeTool = defineTool({
  definition: { name: 'core.test_gauge', description: 'reads a test gauge', category: 'test', parameters: { type: 'object' }, tags: [] },
  args: z.object({ gauge: z.string() }),
  async execute({ gauge }) {
    const g = gauges.get(gauge)!;
    g.reads++;
    return { level: g.level };
  },
});

describe('condition triggers: periodic check, fire on the false→true edge', () => {
  let stack: TestStack;
  let t: Awaited<ReturnType<typeof buildTriggerApp>>;

  beforeAll(async () => {
    stack = await openTestStack();
    await stack.tools.registerBuiltinTool(gaugeTool);
    await stack.startWorker();
    t = await buildTriggerApp(stack);
  });
  afterAll(() => stack.close());

  const create = async (gauge: string, cooldownSeconds: number) => {
    gauges.set(gauge, { level: 0, reads: 0 });
    const res = await t.api
      .post('/api/v1/triggers')
      .send({
        name: `watch ${gauge}`,
        type: 'condition',
        config: { tool: 'core.test_gauge', args: { gauge }, expression: { all: [{ path: 'result.level', op: 'gte', value: 10 }] }, intervalSeconds: 1, cooldownSeconds },
        action: { kind: 'tool', tool: 'core.echo', args: { level: '{{payload.result.level}}' } },
      })
      .expect(201);
    return res.body.id as string;
  };
  const firings = (id: string) => stack.prisma.triggerHistory.findMany({ where: { triggerId: id }, orderBy: { firedAt: 'asc' } });
  /** Waits until the gauge has been read `n` more times (i.e. n more checks ran). */
  const checks = async (gauge: string, n: number) => {
    const start = gauges.get(gauge)!.reads;
    await eventually(async () => gauges.get(gauge)!.reads, (reads) => reads >= start + n);
  };

  test('fires once per rising edge, not on every true check, and again after it resets', async () => {
    const id = await create('g1', 0);
    await checks('g1', 2);
    expect(await firings(id)).toHaveLength(0);

    gauges.get('g1')!.level = 20;
    const first = await eventually(() => firings(id), (rows) => rows.length === 1 && rows[0]!.status === 'succeeded');
    expect(first[0]!.workflowId).toMatch(new RegExp(`^trigger-${id}-check-.*-fire$`));
    const output = await stack.client.workflow.getHandle(first[0]!.workflowId).result();
    expect(output.output).toEqual({ level: 20 });
    await checks('g1', 3);
    expect(await firings(id)).toHaveLength(1);
    expect(await stack.prisma.triggerConditionState.findUnique({ where: { triggerId: id } })).toMatchObject({ lastValue: true });

    gauges.get('g1')!.level = 3;
    await eventually(() => stack.prisma.triggerConditionState.findUnique({ where: { triggerId: id } }), (s) => s?.lastValue === false);
    gauges.get('g1')!.level = 11;
    await eventually(() => firings(id), (rows) => rows.length === 2 && rows.every((r) => r.status === 'succeeded'));
    await t.api.delete(`/api/v1/triggers/${id}`).expect(204);
  });

  test('a second edge inside the cooldown does not fire', async () => {
    const id = await create('g2', 3600);
    gauges.get('g2')!.level = 50;
    await eventually(() => firings(id), (rows) => rows.length === 1);
    gauges.get('g2')!.level = 0;
    await eventually(() => stack.prisma.triggerConditionState.findUnique({ where: { triggerId: id } }), (s) => s?.lastValue === false);
    gauges.get('g2')!.level = 50;
    await checks('g2', 2);
    expect(await firings(id)).toHaveLength(1);
    // Held back, not lost: the edge stays armed until the cooldown has passed.
    expect(await stack.prisma.triggerConditionState.findUnique({ where: { triggerId: id } })).toMatchObject({ lastValue: false });

    // Disabled: the schedule pauses, the gauge is no longer read.
    await t.api.post(`/api/v1/triggers/${id}/disable`).expect(200);
    const shown = await t.api.get(`/api/v1/triggers/${id}`).expect(200);
    expect(shown.body.schedule.paused).toBe(true);
    await t.api.delete(`/api/v1/triggers/${id}`).expect(204);
  });

  test('an edge suppressed by the cooldown fires once the cooldown has passed, and a config change re-arms', async () => {
    // Created disabled, then enabled in the row only: the paused schedule never checks, the test does.
    gauges.set('g3', { level: 0, reads: 0 });
    const config = { tool: 'core.test_gauge', args: { gauge: 'g3' }, expression: { path: 'result.level', op: 'gte', value: 10 }, intervalSeconds: 60, cooldownSeconds: 60 };
    const created = await t.api.post('/api/v1/triggers').send({ name: 'watch g3', type: 'condition', enabled: false, config, action: { kind: 'tool', tool: 'core.echo', args: {} } }).expect(201);
    const id = created.body.id as string;
    const setEnabled = (isEnabled: boolean) => stack.prisma.trigger.update({ where: { id }, data: { isEnabled } });
    await setEnabled(true);
    const acts = createTriggerActivities({ prisma: stack.prisma, tools: stack.tools, events: stack.bus, plans: t.plans });
    let n = 0;
    const check = async (level: number) => {
      gauges.get('g3')!.level = level;
      return (await acts.checkTriggerCondition({ triggerId: id, checkId: `g3-${n++}` })).fire;
    };
    const endCooldown = () => stack.prisma.triggerConditionState.update({ where: { triggerId: id }, data: { lastFiredAt: new Date(Date.now() - 61_000) } });

    expect([await check(0), await check(20), await check(0), await check(20), await check(20)]).toEqual([false, true, false, false, false]);
    await endCooldown();
    expect([await check(20), await check(20)]).toEqual([true, false]);

    // A new condition starts from a fresh edge: true now means it fires (outside the cooldown).
    await endCooldown();
    await setEnabled(false);
    await t.api.patch(`/api/v1/triggers/${id}`).send({ config: { ...config, expression: { path: 'result.level', op: 'gte', value: 15 } } }).expect(200);
    await setEnabled(true);
    expect(await check(20)).toBe(true);

    // The same question asked on another rhythm keeps its edge: still true, so no new firing.
    await t.api.patch(`/api/v1/triggers/${id}`).send({ config: { cooldownSeconds: 0, intervalSeconds: 30 } }).expect(200);
    expect(await check(20)).toBe(false);
    await t.api.delete(`/api/v1/triggers/${id}`).expect(204);
  });
});
