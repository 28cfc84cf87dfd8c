import request from 'supertest';
import { CreatePlanBody } from '../activities/plans/plan-schemas';
import { createPlanService } from '../activities/plans/plan-service';
import { createLogger } from '../platform/logger';
import { createMetrics } from '../platform/observability/metrics';
import { activityObservability } from '../workers/activity-observability';
import { createTestKey, testKeyService } from './support/api-auth';
import { createLogCapture } from './support/log-capture';
import { openTestStack, type TestStack } from './support/test-stack';
import { stackApp } from './support/tool-test-app';
import { buildTriggerApp } from './support/trigger-app';
import { DELIVERY_HEADER, SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from '../activities/triggers/webhook-signature';
import { eventually } from './support/wait';

describe('structured JSON logs: request id, principal, workflow context; secrets never logged', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await openTestStack();
  });
  afterAll(() => stack.close());

  test('API lines carry service, request id and principal; bearer keys, created keys and webhook secrets never appear', async () => {
    const capture = createLogCapture();
    const logger = createLogger('api', 'debug', capture.stream);
    const t = await buildTriggerApp(stack);
    const app = stackApp(stack, { logger, metrics: createMetrics('api'), triggers: t.triggers, webhooks: t.webhooks });
    const adminKey = await createTestKey(testKeyService(stack.prisma), 'admin');
    const userKey = await createTestKey(testKeyService(stack.prisma), 'user:logs');
    const hook = await request(app).post('/api/v1/triggers').set('authorization', `Bearer ${adminKey}`)
      .send({ name: 'logged hook', type: 'webhook', config: {}, action: { kind: 'tool', tool: 'core.echo', args: {} } }).expect(201);
    const webhookSecret: string = hook.body.webhookSecret;
    const timestamp = String(Math.floor(Date.now() / 1000));
    const body = JSON.stringify({ secret: webhookSecret, token: webhookSecret });
    const signature = signWebhook(webhookSecret, timestamp, Buffer.from(body));
    await request(app).post(`/api/v1/webhooks/${hook.body.id}`).set('content-type', 'application/json')
      .set(TIMESTAMP_HEADER, timestamp).set(DELIVERY_HEADER, 'logs-1').set(SIGNATURE_HEADER, signature).send(body).expect(202);

    await request(app).get('/api/v1/plans/nope').set('authorization', `Bearer ${userKey}`).set('x-request-id', 'req-logs-1').expect(404);
    const created = await request(app).post('/api/v1/keys').set('authorization', `Bearer ${adminKey}`)
      .send({ name: 'logged?', principal: 'user:logs2' }).expect(201);
    const newKey: string = created.body.key;
    await request(app).post('/api/v1/webhooks/no-such-trigger').set(SIGNATURE_HEADER, `sha256=${webhookSecret}`).send({ secret: webhookSecret }).expect(404);
    await request(app).get('/health').set('authorization', `Bearer ${userKey}`).expect(200);
    const forged = await request(app).get('/health').set('x-request-id', `bad id {"msg":"forged"} ${'x'.repeat(300)}`).expect(200);
    expect(forged.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/); // a malformed id is replaced, not echoed
    // A careless call site: the redaction list still catches credential-named fields.
    logger.info({ apiKey: userKey, secret: webhookSecret, headers: { authorization: `Bearer ${adminKey}` }, key: newKey }, 'careless');

    const text = capture.text();
    for (const secret of [userKey, adminKey, newKey, webhookSecret, signature.slice(7)]) expect(text).not.toContain(secret);
    expect(capture.lines()).toContainEqual(expect.objectContaining({ msg: 'request', route: '/api/v1/webhooks/:id', status: 202 }));
    const lines = capture.lines();
    expect(lines.every((l) => l.service === 'api' && typeof l.time === 'string')).toBe(true);
    expect(lines).toContainEqual(expect.objectContaining({
      msg: 'request', requestId: 'req-logs-1', principal: 'user:logs', method: 'GET', route: '/api/v1/plans/:id', status: 404,
    }));
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'request', principal: 'admin', route: '/api/v1/keys', status: 201 }));
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'careless', apiKey: '[redacted]', secret: '[redacted]', key: '[redacted]' }));
  });

  test('activity lines carry workflow id, run id, activity type and plan step id', async () => {
    const capture = createLogCapture();
    await stack.startWorker({}, { activity: [activityObservability(createMetrics('worker'), createLogger('worker', 'info', capture.stream))] });
    {
      const plans = createPlanService({ prisma: stack.prisma, temporal: stack.client, taskQueue: stack.taskQueue, tools: stack.tools });
      const plan = await plans.createPlan(CreatePlanBody.parse({ name: 'logs', steps: [{ id: 'say', kind: 'tool', tool: 'core.echo', args: { hello: 'x' } }] }), 'user:logs');
      const { runId } = await plans.executePlan(plan.id, {}, 'user:logs');
      await stack.client.workflow.getHandle(runId).result();
      const lines = await eventually(async () => capture.lines(), (ls) => ls.some((l) => l.stepId === 'say'));
      const step = lines.find((l) => l.stepId === 'say')!;
      expect(step).toMatchObject({ service: 'worker', workflowId: runId, outcome: 'success', attempt: 1 });
      expect(typeof step.runId).toBe('string');
      expect(typeof step.activity).toBe('string');
      expect(capture.text()).not.toContain('"hello"'); // arguments are not logged
    }
  });
});
