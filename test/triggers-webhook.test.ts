import { WorkflowNotFoundError } from '@temporalio/client';
import request from 'supertest';
import { createRateLimiter } from '../activities/triggers/webhook-rate-limiter';
import { createWebhookReceiver } from '../activities/triggers/webhook-receiver';
import { DELIVERY_HEADER, SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER, verifyWebhookSignature } from '../activities/triggers/webhook-signature';
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

    const onceAt = Math.floor(Date.now() / 1000);
    await deliver(hook.id, hook.webhookSecret, body, { delivery: 'once-1', timestamp: onceAt }).expect(202);
    const replay = await deliver(hook.id, hook.webhookSecret, body, { delivery: 'once-1', timestamp: onceAt }).expect(409);
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

  test('signatures older than twice the longest tolerance are forgotten; younger ones are kept, whatever the trigger\'s own tolerance', async () => {
    const hook = await createWebhook({ toleranceSeconds: 60 });
    const row = (deliveryId: string, msAgo: number) => ({ triggerId: hook.id, signatureDigest: `digest-${deliveryId}`, deliveryId, receivedAt: new Date(Date.now() - msAgo) });
    // Kept although its 60 s window has long passed: raising the tolerance to 1 h would let it verify again.
    await stack.prisma.triggerWebhookDelivery.createMany({ data: [row('long-ago', 2 * 3600_000 + 60_000), row('an-hour-ago', 3600_000)] });
    await deliver(hook.id, hook.webhookSecret, '{}', { delivery: 'now-1' }).expect(202);
    const kept = await eventually(
      () => stack.prisma.triggerWebhookDelivery.findMany({ where: { triggerId: hook.id }, orderBy: { receivedAt: 'asc' } }),
      (rows) => !rows.some((r) => r.deliveryId === 'long-ago'),
    );
    expect(kept.map((r) => r.deliveryId)).toEqual(['an-hour-ago', 'now-1']);
  });

  describe('a verified signature starts one run, whatever delivery id it comes with', () => {
    /** One captured request: the same timestamp, body and signature, sent with any delivery id. */
    const captured = (hook: { id: string; webhookSecret: string }, body = '{"transfer":100}') => {
      const timestamp = Math.floor(Date.now() / 1000);
      const signature = signWebhook(hook.webhookSecret, String(timestamp), Buffer.from(body));
      return { timestamp, body, signature, send: (delivery: string) => deliver(hook.id, hook.webhookSecret, body, { delivery, timestamp, signature }) };
    };
    /** The trigger's history once `n` runs succeeded (refused copies are proven unstarted by their workflow ids). */
    const succeededRuns = (triggerId: string, n: number) =>
      eventually(() => stack.prisma.triggerHistory.findMany({ where: { triggerId } }), (rows) => rows.length === n && rows.every((r) => r.status === 'succeeded'));

    test('a captured delivery resent with fresh delivery ids is 409 like a repeated delivery id, and starts nothing', async () => {
      const hook = await createWebhook();
      const copy = captured(hook);
      await copy.send('orig-1').expect(202);
      const sameId = await copy.send('orig-1').expect(409);
      expect(sameId.body.error).toEqual({ code: 'CONFLICT', message: "delivery 'orig-1' was already received", details: { deliveryId: 'orig-1' } });
      for (const id of ['attacker-0', 'attacker-1', 'attacker-2']) {
        const replay = await copy.send(id).expect(409);
        expect(replay.body.error).toEqual({ code: 'CONFLICT', message: `delivery '${id}' repeats a signature already received with another delivery id`, details: { deliveryId: id } });
        await notStarted(hook.id, id);
      }
      // The signature is compared byte for byte, so re-encoding it does not make a new one.
      await copy.send('attacker-upper').set(SIGNATURE_HEADER, copy.signature.toUpperCase()).expect(401);

      expect((await succeededRuns(hook.id, 1)).map((r) => r.workflowId)).toEqual([`trigger-${hook.id}-wh-orig-1`]);
      expect((await stack.prisma.triggerWebhookDelivery.findMany({ where: { triggerId: hook.id } })).map((r) => r.deliveryId)).toEqual(['orig-1']);
    });

    test('copies arriving at once start one run: the primary key picks the winner', async () => {
      const hook = await createWebhook();
      const copy = captured(hook);
      const ids = Array.from({ length: 8 }, (_, i) => `race-${i}`);
      const statuses = (await Promise.all([...ids, 'race-0', 'race-0'].map((id) => copy.send(id)))).map((r) => r.status);
      expect(statuses.filter((s) => s === 202)).toHaveLength(1);
      expect(statuses.filter((s) => s === 409)).toHaveLength(statuses.length - 1);
      await succeededRuns(hook.id, 1);
      const [claim] = await stack.prisma.triggerWebhookDelivery.findMany({ where: { triggerId: hook.id } });
      for (const id of ids.filter((id) => id !== claim!.deliveryId)) await notStarted(hook.id, id);
    });

    test('the sender\'s own retries keep their answers: same request, re-signed, or after an attempt that never started the run', async () => {
      const hook = await createWebhook();
      const first = captured(hook, '{"n":1}');
      await first.send('retry-1').expect(202);
      // The same delivery re-signed with a fresh timestamp (a later retry) is still the same delivery ...
      const resigned = await deliver(hook.id, hook.webhookSecret, first.body, { delivery: 'retry-1', timestamp: first.timestamp + 1 }).expect(409);
      expect(resigned.body.error.message).toBe("delivery 'retry-1' was already received");
      // ... and its signature, although refused, is remembered: it cannot start a run under another id.
      await deliver(hook.id, hook.webhookSecret, first.body, { delivery: 'retry-1-copy', timestamp: first.timestamp + 1 }).expect(409);

      // An attempt that claimed its signature and died before starting the run: its retry starts it.
      const second = captured(hook, '{"n":2}');
      const signatureDigest = verifyWebhookSignature({ secret: hook.webhookSecret, timestamp: String(second.timestamp), signature: second.signature, rawBody: Buffer.from(second.body), nowMs: Date.now(), toleranceSeconds: 300 });
      await stack.prisma.triggerWebhookDelivery.create({ data: { triggerId: hook.id, signatureDigest, deliveryId: 'died-1', receivedAt: new Date() } });
      await second.send('stolen-1').expect(409);
      expect((await second.send('died-1').expect(202)).body.runId).toBe(`trigger-${hook.id}-wh-died-1`);

      // A start that fails (Temporal unreachable) leaves no claim behind; the retry runs it once.
      const third = captured(hook, '{"n":3}');
      const unreachable = createWebhookReceiver({ prisma: stack.prisma, secrets: t.secrets, rateLimiter: createRateLimiter(), starter: { start: () => Promise.reject(new Error('connect ECONNREFUSED')) } });
      await expect(unreachable.receive({ triggerId: hook.id, rawBody: Buffer.from(third.body), contentType: 'application/json', timestamp: String(third.timestamp), signature: third.signature, deliveryId: 'failed-1' })).rejects.toThrow('ECONNREFUSED');
      expect(await stack.prisma.triggerWebhookDelivery.count({ where: { triggerId: hook.id, deliveryId: 'failed-1' } })).toBe(0);
      await third.send('failed-1').expect(202);
      await third.send('failed-1').expect(409);
      await third.send('failed-1-copy').expect(409);

      expect((await succeededRuns(hook.id, 3)).map((r) => r.workflowId).sort()).toEqual(['died-1', 'failed-1', 'retry-1'].map((id) => `trigger-${hook.id}-wh-${id}`));
    });

    test('a different body or timestamp is a new signature and is accepted', async () => {
      const hook = await createWebhook();
      const copy = captured(hook);
      await copy.send('base-1').expect(202);
      await deliver(hook.id, hook.webhookSecret, copy.body, { delivery: 'later-1', timestamp: copy.timestamp + 1 }).expect(202);
      await deliver(hook.id, hook.webhookSecret, '{"transfer":101}', { delivery: 'other-body-1', timestamp: copy.timestamp }).expect(202);
      await succeededRuns(hook.id, 3);
    });
  });
});
