import type { OwnPilotEvent } from '../activities/events/event-types';
import { createPlanActivities } from '../activities/plans/plan-activities';
import { createCollectingPublisher } from './support/collecting-publisher';
import { newId } from '../platform/ids';
import { authed, createTestKey, testKeyService } from './support/api-auth';
import { eventOf, openStream, type OpenStream } from './support/event-stream-client';
import { openPlanHarness, type PlanHarness } from './support/plan-harness';
import { serve, type Served } from './support/serve';
import { buildTriggerApp } from './support/trigger-app';
import { eventually } from './support/wait';

// A plan run's events carry its step outputs: only the run's readers (the plan's creator, the
// run's starter, the approvers its version names) and admin may read them, through the history
// (in SQL, so pages stay full), the live stream and the payload of an event trigger.
describe('event audience: plan events reach only the run’s readers', () => {
  let h: PlanHarness;
  let served: Served;
  const tag = newId(6).toLowerCase();
  const alice = `user:audalice${tag}`;
  const bob = `user:audbob${tag}`;
  const carol = `user:audcarol${tag}`; // named as approver in bob's plan
  const keys: Record<string, string> = {};
  const opened: OpenStream[] = [];

  beforeAll(async () => {
    h = await openPlanHarness();
    served = await serve(h.app);
    for (const principal of [alice, bob, carol, 'admin']) keys[principal] = await createTestKey(testKeyService(h.stack.prisma), principal);
  });
  afterAll(async () => {
    for (const stream of opened) stream.close();
    await served.close();
    await h.close();
  });

  const as = (principal: string) => authed(h.app, keys[principal]!);
  const open = async (principal: string, query: Record<string, string>) => {
    const stream = await openStream(`${served.url}/api/v1/events/stream?${new URLSearchParams(query).toString()}`, { authorization: `Bearer ${keys[principal]!}` });
    opened.push(stream);
    return stream;
  };
  const runIdOf = (event: OwnPilotEvent) => (event.data as { runId?: string }).runId;
  /** Every plan event since `from` the principal's history answers, page by page (`limit` per page); fails on a short page before the last. */
  const history = async (principal: string, from: string, limit = 500): Promise<OwnPilotEvent[]> => {
    const all: OwnPilotEvent[] = [];
    for (let offset: number | null = 0; offset !== null; ) {
      const res = await as(principal).get('/api/v1/events').query({ type: 'plan.**', from, limit, offset }).expect(200);
      const body = res.body as { items: OwnPilotEvent[]; nextOffset: number | null };
      if (body.nextOffset !== null) expect(body.items).toHaveLength(limit);
      all.push(...body.items);
      offset = body.nextOffset;
    }
    return all;
  };
  const run = async (owner: string, marker: string, steps: Record<string, unknown>[]) => {
    const planId = (await as(owner).post('/api/v1/plans').send({ name: `aud-${marker}`, steps }).expect(201)).body.id as string;
    return (await as(owner).post(`/api/v1/plans/${planId}/execute`).send({}).expect(202)).body.runId as string;
  };
  const note = (text: string) => ({ id: 'note', kind: 'tool', tool: 'core.test.log', args: { text } });
  const completed = (runId: string) => h.waitFor(runId, (r) => r.status === 'completed' && r.source === 'database');

  test('history (every page full), live stream and replay show a user only the runs they may read; admin and approvers see them', async () => {
    const from = new Date().toISOString();
    const aliceLive = await open(alice, { type: 'plan.**' });
    const carolLive = await open(carol, { type: 'plan.**' });

    const aliceFirst = await run(alice, 'a1', [note(`alice-${tag}`)]);
    await completed(aliceFirst);
    // Bob's run is newer than Alice's first: unfiltered pages of Alice's history would start with it.
    const bobs = await run(bob, 'b', [note(`BOB-SECRET-${tag}`), { id: 'gate', kind: 'approval', approvers: [carol], dependsOn: ['note'] }]);
    await h.waitFor(bobs, (r) => r.steps.gate?.status === 'waiting_approval');
    await as(carol).post(`/api/v1/plans/runs/${bobs}/steps/gate/approve`).send({}).expect(200);
    await completed(bobs);
    // Alice's second run comes after Bob's on the bus: once her stream has it, it would have had Bob's.
    const aliceSecond = await run(alice, 'a2', [note(`alice2-${tag}`)]);
    await completed(aliceSecond);

    const isCompleted = (runId: string) => (e: OwnPilotEvent) => e.type === 'plan.completed' && runIdOf(e) === runId;
    const aliceStream = (await aliceLive.readUntil((frames) => frames.map(eventOf).some(isCompleted(aliceSecond)))).map(eventOf);
    expect(new Set(aliceStream.map(runIdOf))).toEqual(new Set([aliceFirst, aliceSecond]));
    const carolStream = (await carolLive.readUntil((frames) => frames.map(eventOf).some(isCompleted(bobs)))).map(eventOf);
    expect(new Set(carolStream.map(runIdOf))).toEqual(new Set([bobs]));
    expect(carolStream.find((e) => e.type === 'plan.step_completed' && (e.data as { stepId: string }).stepId === 'note')?.data).toMatchObject({ details: { output: { text: `BOB-SECRET-${tag}` } } });

    const ofRuns = (events: OwnPilotEvent[]) => new Set(events.map(runIdOf));
    const aliceAll = await history(alice, from);
    expect(ofRuns(aliceAll)).toEqual(new Set([aliceFirst, aliceSecond]));
    // One event a page: every page is full and Alice's own, none emptied by Bob's events.
    expect((await history(alice, from, 1)).map((e) => e.id)).toEqual(aliceAll.map((e) => e.id));
    expect(ofRuns(await history(bob, from))).toEqual(new Set([bobs]));
    expect(ofRuns(await history(carol, from))).toEqual(new Set([bobs]));
    const adminAll = await history('admin', from);
    expect(ofRuns(adminAll)).toEqual(new Set([aliceFirst, bobs, aliceSecond]));
    expect(adminAll.find((e) => runIdOf(e) === bobs)?.audience).toEqual([bob, carol]);

    // The replay from event_log follows the same rule.
    const replay = await open(alice, { type: 'plan.**', from });
    expect(ofRuns((await replay.readUntil((frames) => frames.map(eventOf).some(isCompleted(aliceSecond)))).map(eventOf))).toEqual(new Set([aliceFirst, aliceSecond]));

    // A batch without readers (a run started before its workflow carried them): the activity reads them.
    const publisher = createCollectingPublisher();
    const activities = createPlanActivities({ prisma: h.stack.prisma, sql: h.stack.pool, tools: h.stack.tools, events: publisher });
    const planId = (await h.run(bobs)).planId as string;
    await activities.recordPlanBatch({ planId, runId: bobs, transitions: [{ sequence: 900_000, event: 'plan.checkpoint', status: 'completed' }], checkpoints: [] });
    expect(publisher.events).toEqual([expect.objectContaining({ type: 'plan.checkpoint', audience: [bob, carol] })]);
  });

  test('an event trigger fires on plan.completed of its creator’s runs, not of another user’s', async () => {
    const t = await buildTriggerApp(h.stack);
    const action = { kind: 'tool', tool: 'core.echo', args: { got: '{{payload.data.runId}}' } };
    const trigger = (await authed(t.app, keys[alice]!).post('/api/v1/triggers').send({ name: 'on my plans', type: 'event', config: { pattern: 'plan.completed' }, action }).expect(201)).body.id as string;
    const own = await run(alice, 'a3', [note(`alice3-${tag}`)]);
    const foreign = await run(bob, 'b2', [note(`BOB2-SECRET-${tag}`)]);
    await completed(own);
    await completed(foreign);
    // The events as event_log holds them (audience included), dispatched as the API's dispatcher would.
    const logged = (await h.stack.bus.getEventHistory({ type: 'plan.completed', limit: 50 })).filter((e) => [own, foreign].includes(runIdOf(e)!));
    const fired = async (runId: string) => t.dispatcher.dispatch(logged.find((e) => runIdOf(e) === runId)!);
    expect(await fired(foreign)).toEqual([]);
    expect(await fired(own)).toEqual([expect.stringMatching(new RegExp(`^trigger-${trigger}-ev-`))]);
    await eventually(() => h.stack.prisma.triggerHistory.findMany({ where: { triggerId: trigger } }), (rows) => rows.length === 1 && rows[0]!.status === 'succeeded');
    await t.api.delete(`/api/v1/triggers/${trigger}`).expect(204);
  });

  test('a caller may not set an audience: POST /api/v1/events and core.events.emit refuse it', async () => {
    const refused = await as(alice).post('/api/v1/events').send({ type: 'agent.started', data: { agentId: tag }, audience: [alice] }).expect(400);
    expect(JSON.stringify(refused.body)).toMatch(/audience is set only by OwnPilot services/);
    await expect(h.stack.tools.execute('core.events.emit', { type: 'agent.started', data: { agentId: tag }, audience: [alice] }, { requesterId: alice })).rejects.toMatchObject({ code: 'UNPROCESSABLE', message: expect.stringMatching(/audience is set only by OwnPilot services/) });
  });
});
