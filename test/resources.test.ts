import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import request from 'supertest';
import { createToolActivities } from '../activities/tools/tool-activities';
import { newId } from '../platform/ids';
import { openTestStack, type TestStack } from './support/test-stack';
import { PRINCIPAL_HEADER, toolTestApp } from './support/tool-test-app';
import { eventually } from './support/wait';

describe('personal-data resources: API, tools, events, idempotency, plans', () => {
  let stack: TestStack;
  let app: ReturnType<typeof toolTestApp>;
  const ann = `user:ann${newId(4)}`;
  const ben = `user:ben${newId(4)}`;
  const as = (principal: string) => ({ [PRINCIPAL_HEADER]: principal });

  beforeAll(async () => {
    stack = await openTestStack();
    await stack.startWorker();
    app = toolTestApp(stack);
  });
  afterAll(() => stack.close());

  test('CRUD through /api/v1/resources emits resource.created|updated|deleted and stays with its owner', async () => {
    stack.events.clear();
    const created = await request(app).post('/api/v1/resources/tasks').set(as(ann)).send({ title: 'write report', priority: 2, dueAt: '2026-12-01T09:00:00Z', tags: ['work'] }).expect(201);
    const id: string = created.body.id;
    expect(created.body).toMatchObject({ title: 'write report', status: 'open', priority: 2, ownerId: ann, dueAt: '2026-12-01T09:00:00.000Z' });
    expect(created.body.idempotencyKey).toBeUndefined();

    await request(app).get(`/api/v1/resources/tasks/${id}`).set(as(ben)).expect(404);
    await request(app).patch(`/api/v1/resources/tasks/${id}`).set(as(ben)).send({ status: 'done' }).expect(404);
    await request(app).delete(`/api/v1/resources/tasks/${id}`).set(as(ben)).expect(404);
    expect((await request(app).get('/api/v1/resources/tasks').set(as(ben)).expect(200)).body.items.map((t: { id: string }) => t.id)).not.toContain(id);
    expect((await request(app).get('/api/v1/resources/tasks').set(as(ann)).expect(200)).body.items.map((t: { id: string }) => t.id)).toContain(id);
    await request(app).get(`/api/v1/resources/tasks/${id}`).set(as('admin')).expect(200);

    const updated = await request(app).patch(`/api/v1/resources/tasks/${id}`).set(as(ann)).send({ status: 'done' }).expect(200);
    expect(updated.body.status).toBe('done');
    await request(app).delete(`/api/v1/resources/tasks/${id}`).set(as(ann)).expect(200);
    await request(app).get(`/api/v1/resources/tasks/${id}`).set(as(ann)).expect(404);

    const resourceEvents = stack.events.events.filter((e) => e.type.startsWith('resource.'));
    expect(resourceEvents.map((e) => e.type)).toEqual(['resource.created', 'resource.updated', 'resource.deleted']);
    expect(resourceEvents[0]!.data).toMatchObject({ resourceType: 'tasks', id, data: { title: 'write report' } });
    expect(resourceEvents[1]!.data).toEqual({ resourceType: 'tasks', id, changes: { status: 'done' } });
    expect(resourceEvents[2]!.data).toMatchObject({ resourceType: 'tasks', id });
  });

  test('bad input is a 400 in the standard shape and writes nothing', async () => {
    const before = await stack.prisma.calendarEvent.count();
    const bad = await request(app).post('/api/v1/resources/calendar_events').set(as(ann)).send({ title: '', startsAt: 'tomorrow', surprise: 1 }).expect(400);
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
    expect(bad.body.error.details.issues.length).toBeGreaterThanOrEqual(3);
    await request(app).post('/api/v1/resources/calendar_events').set(as(ann)).send({ title: 'x', startsAt: '2026-12-02T10:00:00Z', endsAt: '2026-12-02T09:00:00Z' }).expect(422);
    await request(app).post('/api/v1/resources/secrets').set(as(ann)).send({ title: 'x' }).expect(400);
    await request(app).patch('/api/v1/resources/notes/whatever').set(as(ann)).send({}).expect(400);
    expect(await stack.prisma.calendarEvent.count()).toBe(before);
    // An email is what the API document's `format: email` accepts: a domain label may not end in '-' (the fuzzer's find).
    const contacts = await stack.prisma.contact.count();
    await request(app).post('/api/v1/resources/contacts').set(as(ann)).send({ name: 'x', email: '+@A-.aA' }).expect(400);
    await request(app).post('/api/v1/resources/contacts').set(as(ann)).send({ name: 'x', email: 'no-dot@localhost' }).expect(400);
    expect(await stack.prisma.contact.count()).toBe(contacts);
    await request(app).post('/api/v1/resources/contacts').set(as(ann)).send({ name: 'x', email: 'ann+tag@mail.example.org' }).expect(201);
  });

  test('a body sent without the JSON content type (curl -d sends a form) is refused saying so, and a JSON body still passes', async () => {
    const form = await request(app).post('/api/v1/resources/notes').set(as(ann)).type('form').send('{"title":"from curl"}').expect(400);
    expect(form.body.error).toMatchObject({ code: 'VALIDATION_FAILED', message: 'request is invalid: the body was sent as application/x-www-form-urlencoded, not JSON; send it with content-type: application/json' });
    const empty = await request(app).post('/api/v1/resources/notes').set(as(ann)).send({}).expect(400);
    expect(empty.body.error.message).toBe('request is invalid');
    await request(app).post('/api/v1/resources/notes').set(as(ann)).type('json').send('{"title":"from curl"}').expect(201);
  });

  test('every resource has create/get/list/update/delete tools; create is idempotent per key', async () => {
    for (const type of ['tasks', 'notes', 'bookmarks', 'contacts', 'calendar_events', 'memories', 'goals']) {
      for (const op of ['create', 'get', 'list', 'update', 'delete']) expect(await stack.tools.exists(`core.${type}.${op}`)).toBe(true);
    }
    stack.events.clear();
    const key = `key-${newId()}`;
    const first = (await stack.tools.execute('core.notes.create', { title: 'idempotent' }, { requesterId: ann, idempotencyKey: key })) as { id: string };
    const again = (await stack.tools.execute('core.notes.create', { title: 'idempotent' }, { requesterId: ann, idempotencyKey: key })) as { id: string };
    expect(again.id).toBe(first.id);
    const concurrent = await Promise.all([1, 2, 3].map(() => stack.tools.execute('core.notes.create', { title: 'race' }, { requesterId: ann, idempotencyKey: `${key}-race` }) as Promise<{ id: string }>));
    expect(new Set(concurrent.map((n) => n.id)).size).toBe(1);
    // the same key from another principal is another row
    const bens = (await stack.tools.execute('core.notes.create', { title: 'idempotent' }, { requesterId: ben, idempotencyKey: key })) as { id: string };
    expect(bens.id).not.toBe(first.id);
    expect(stack.events.ofType('resource.created')).toHaveLength(3);
    // API create honours the Idempotency-Key header too
    const a = await request(app).post('/api/v1/resources/goals').set(as(ann)).set('idempotency-key', key).send({ title: 'run 10k' }).expect(201);
    const b = await request(app).post('/api/v1/resources/goals').set(as(ann)).set('idempotency-key', key).send({ title: 'run 10k' }).expect(201);
    expect(b.body.id).toBe(a.body.id);
    const listed = (await stack.tools.execute('core.goals.list', { limit: 200 }, { requesterId: ann })) as { items: { id: string }[] };
    expect(listed.items.filter((g) => g.id === a.body.id)).toHaveLength(1);
  });

  test('a plan step creating a resource runs through the worker once, with the plan’s idempotency key', async () => {
    const title = `from plan ${newId()}`;
    const plan = await request(app).post('/api/v1/plans').set(as(ann)).send({ name: 'make a task', steps: [{ id: 'task', kind: 'tool', tool: 'core.tasks.create', args: { title } }] }).expect(201);
    const started = await request(app).post(`/api/v1/plans/${plan.body.id}/execute`).set(as(ann)).send({}).expect(202);
    const run = await eventually(async () => (await request(app).get(`/api/v1/plans/runs/${started.body.runId}`).set(as(ann))).body, (body) => body.status === 'completed' || body.status === 'failed');
    expect(run.status).toBe('completed');
    const rows = await stack.prisma.task.findMany({ where: { title } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ ownerId: ann, idempotencyKey: `${ann}|${started.body.runId}/task/0` }); // <runId>/<stepId>/<generation>
  });

  test('tool activities: results pass through, permanent errors become non-retryable failures', async () => {
    const env = new MockActivityEnvironment();
    const activities = createToolActivities({ tools: stack.tools });
    await expect(env.run(activities.executeTool, { name: 'core.math', args: { op: 'add', values: [1, 2] }, requesterId: ann })).resolves.toMatchObject({ status: 'completed', output: { result: 3 } });
    const failure = await env.run(activities.executeTool, { name: 'core.math', args: { op: 'nope' }, requesterId: ann }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'UNPROCESSABLE', nonRetryable: true });
    const pluginId = `act${newId(5)}`;
    await env.run(activities.registerPluginTool, { pluginId, definition: { name: `plugin.${pluginId}.hi`, description: 'hi', category: 'x', parameters: { type: 'object' }, tags: [] }, code: 'return "hi"' });
    await expect(env.run(activities.executeTool, { name: `plugin.${pluginId}.hi`, args: {}, requesterId: ann })).resolves.toMatchObject({ output: 'hi' });
    await expect(env.run(activities.unregisterPluginTools, pluginId)).resolves.toEqual([`plugin.${pluginId}.hi`]);
  });
});
