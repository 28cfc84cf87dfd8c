import { WorkflowNotFoundError } from '@temporalio/client';
import request from 'supertest';
import { DELIVERY_HEADER, SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from '../activities/triggers/webhook-signature';
import { buildTriggerApp } from './support/trigger-app';
import { openTestStack, type TestStack } from './support/test-stack';
import { eventually } from './support/wait';

describe('webhook triggers: HMAC-signed, replay-safe, no API key', () => {
  let stack: TestStack;
  let t: Awaited<ReturnType<typeof buildTriggerApp>>;
  let seq = 0;

  beforeAll(async () => {
    stack = await openTestStack();
    await stack.startWorker();
    t = await buildTriggerApp(stack);
  });
  afterAll(() => stack.close());

  const createWebhook = async (config: Record<string, unknown> = {}) =>
    (await t.api.post('/api/v1/triggers').send({ name: 'hook', type: 'webhook', config, action: { kind: 'tool', tool: 'core.echo', args: { got: '{{payload}}', note: 'order {{payload.order.id}}' } } }).expect(201)).body as { id: string; webhookSecret: string };

  /** Sends a delivery signed with `secret` (overrides let a test break one thing at a time). */
  const deliver = (triggerId: string, secret: string, body: string, o: { timestamp?: number; delivery?: string; signature?: string } = {}) => {
    const timestamp = String(o.timestamp ?? Math.floor(Date.now() / 1000));
    const delivery = o.delivery ?? `d-${Date.now()}-${seq++}`;
    return request(t.app)
      .post(`/api/v1/webhooks/${triggerId}`)
      .set('content-type', 'application/json')
      .set(TIMESTAMP_HEADER, timestamp)
      .set(DELIVERY_HEADER, delivery)
      .set(SIGNATURE_HEADER, o.signature ?? signWebhook(secret, timestamp, Buffer.from(body)))
      .send(body);
  };
  const historyCount = (triggerId: string) => stack.prisma.triggerHistory.count({ where: { triggerId } });
  const notStarted = async (triggerId: string, delivery: string) =>
    expect(stack.client.workflow.getHandle(`trigger-${triggerId}-wh-${delivery}`).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);

  test('a valid delivery answers 202 with the run id, records history and passes the verified body to the action', async () => {
    const hook = await createWebhook();
    expect(hook.webhookSecret).toMatch(/^whsec_/);
    const stored = await stack.prisma.triggerWebhookSecret.findUniqueOrThrow({ where: { triggerId: hook.id } });
    expect(stored.secretCiphertext).not.toContain(hook.webhookSecret.slice(6));
    expect((await t.api.get(`/api/v1/triggers/${hook.id}`).expect(200)).body.webhookSecret).toBeUndefined();

    // The webhook needs no API key (signature instead); the rest of /api/v1 still does.
    await request(t.app).get(`/api/v1/triggers/${hook.id}`).expect(401);
    const body = JSON.stringify({ order: { id: 42, total: 9.5 } });
    const res = await deliver(hook.id, hook.webhookSecret, body, { delivery: 'first-1' }).expect(202);
    expect(res.body.runId).toBe(`trigger-${hook.id}-wh-first-1`);
    const result = await stack.client.workflow.getHandle(res.body.runId).result();
    expect(result.output).toEqual({ got: { order: { id: 42, total: 9.5 } }, note: 'order 42' });
    const rows = await eventually(() => stack.prisma.triggerHistory.findMany({ where: { triggerId: hook.id } }), (r) => r.length === 1 && r[0]!.status === 'succeeded');
    expect(rows[0]).toMatchObject({ workflowId: res.body.runId, triggerType: 'webhook', payloadDigest: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(rows[0]!.durationMs).toBeGreaterThanOrEqual(0);
  });

  test('wrong signature, stale timestamp, replayed delivery and oversized bodies are rejected and start nothing', async () => {
    const hook = await createWebhook({ maxBodyBytes: 1024, toleranceSeconds: 60 });
    const body = JSON.stringify({ ok: true });

    const wrong = await deliver(hook.id, 'whsec_not-the-secret', body, { delivery: 'wrong-1' }).expect(401);
    expect(wrong.body.error).toMatchObject({ code: 'UNAUTHENTICATED', message: 'signature does not match' });
    await notStarted(hook.id, 'wrong-1');
    const tampered = await deliver(hook.id, hook.webhookSecret, body, { delivery: 'tampered-1', signature: signWebhook(hook.webhookSecret, String(Math.floor(Date.now() / 1000)), Buffer.from('{"ok":false}')) }).expect(401);
    expect(tampered.body.error.code).toBe('UNAUTHENTICATED');
    await request(t.app).post(`/api/v1/webhooks/${hook.id}`).set('content-type', 'application/json').send(body).expect(401);

    const stale = await deliver(hook.id, hook.webhookSecret, body, { delivery: 'stale-1', timestamp: Math.floor(Date.now() / 1000) - 120 }).expect(401);
    expect(stale.body.error.message).toMatch(/tolerance/);
    await notStarted(hook.id, 'stale-1');
    await deliver(hook.id, hook.webhookSecret, body, { delivery: 'future-1', timestamp: Math.floor(Date.now() / 1000) + 120 }).expect(401);

    await deliver(hook.id, hook.webhookSecret, body, { delivery: 'once-1' }).expect(202);
    const replay = await deliver(hook.id, hook.webhookSecret, body, { delivery: 'once-1' }).expect(409);
    expect(replay.body.error.code).toBe('CONFLICT');

    const big = JSON.stringify({ pad: 'x'.repeat(2000) });
    const tooBig = await deliver(hook.id, hook.webhookSecret, big, { delivery: 'big-1' }).expect(413);
    expect(tooBig.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    await notStarted(hook.id, 'big-1');
    await deliver(hook.id, hook.webhookSecret, 'x'.repeat(1024 * 1024 + 10), { delivery: 'huge-1' }).expect(413);

    await eventually(() => stack.prisma.triggerHistory.findMany({ where: { triggerId: hook.id } }), (r) => r.length === 1 && r[0]!.status === 'succeeded');
    expect(await historyCount(hook.id)).toBe(1);
    expect(await stack.prisma.triggerWebhookDelivery.findMany({ where: { triggerId: hook.id } })).toEqual([expect.objectContaining({ deliveryId: 'once-1' })]);
  });

  test('unknown trigger 404, disabled 409, per-trigger rate limit 429, rotation invalidates the old secret', async () => {
    await deliver('nope', 'whsec_x', '{}').expect(404);
    const hook = await createWebhook({ rateLimitPerMinute: 3 });
    await t.api.post(`/api/v1/triggers/${hook.id}/disable`).expect(200);
    await deliver(hook.id, hook.webhookSecret, '{}').expect(409);
    await t.api.post(`/api/v1/triggers/${hook.id}/enable`).expect(200);

    const rotated = await t.api.post(`/api/v1/triggers/${hook.id}/rotate-secret`).expect(200);
    expect(rotated.body.webhookSecret).not.toBe(hook.webhookSecret);
    await deliver(hook.id, hook.webhookSecret, '{}').expect(401);
    // Every request counts against the budget of 3 a minute, rejected ones included.
    await deliver(hook.id, rotated.body.webhookSecret, '{}').expect(202);
    await deliver(hook.id, rotated.body.webhookSecret, '{}').expect(429);
    await eventually(() => historyCount(hook.id), (n) => n === 1);

    const other = await createWebhook({ rateLimitPerMinute: 1 });
    await deliver(other.id, other.webhookSecret, '{}').expect(202);
    const limited = await deliver(other.id, other.webhookSecret, '{}').expect(429);
    expect(limited.body.error.code).toBe('RATE_LIMITED');
  });

  test('delivery ids older than twice the tolerance are forgotten; recent ones are kept for replay protection', async () => {
    const hook = await createWebhook({ toleranceSeconds: 60 });
    const old = new Date(Date.now() - 3 * 60_000);
    await stack.prisma.triggerWebhookDelivery.create({ data: { triggerId: hook.id, deliveryId: 'long-ago', receivedAt: old } });
    await stack.prisma.triggerWebhookDelivery.create({ data: { triggerId: hook.id, deliveryId: 'a-minute-ago', receivedAt: new Date(Date.now() - 60_000) } });
    await deliver(hook.id, hook.webhookSecret, '{}', { delivery: 'now-1' }).expect(202);
    const kept = await eventually(
      () => stack.prisma.triggerWebhookDelivery.findMany({ where: { triggerId: hook.id }, orderBy: { receivedAt: 'asc' } }),
      (rows) => !rows.some((r) => r.deliveryId === 'long-ago'),
    );
    expect(kept.map((r) => r.deliveryId)).toEqual(['a-minute-ago', 'now-1']);
  });
});
