import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { DELIVERY_HEADER, SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from '../../activities/triggers/webhook-signature';
import { createPrisma, type PrismaClient } from '../../platform/database';
import { startAppProcess, type AppProcess } from '../support/app-process';
import { migratedScratchDatabase } from '../support/scratch-database';
import { stackInfo } from '../support/stack-info';
import { isolatedAppEnv } from '../support/isolated-app-env';
import { eventually } from '../support/wait';

/** Deliveries per burst and bursts (each ended by a SIGKILL of the API); CHAOS_WEBHOOK_* raise them by hand. */
const PER_BURST = Number(process.env.CHAOS_WEBHOOK_PER_BURST ?? 40);
const BURSTS = Number(process.env.CHAOS_WEBHOOK_BURSTS ?? 2);

jest.setTimeout(240_000);

type Outcome = number | 'no answer';

// The real API process on a database and namespace of its own (its startup reconcile sees only
// them), a real worker process, and signed webhook deliveries over HTTP.
describe('chaos: the API is killed (SIGKILL) during webhook bursts', () => {
  let dir: string;
  let prisma: PrismaClient;
  let temporal: Client;
  let env: Record<string, string>;
  let worker: AppProcess;
  let api: AppProcess;
  let apiUrl: string;
  let adminKey: string;

  const startApi = async () => {
    api = await startAppProcess('api/main.ts', env, 'api ready');
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ownpilot-chaos-api-'));
    const databaseUrl = await migratedScratchDatabase('chaos_webhooks');
    const isolated = await isolatedAppEnv(databaseUrl, dir, 'chaos-webhooks');
    ({ env, apiUrl, adminKey } = isolated); // the restarted API reuses env, so it opens the same webhook secrets
    prisma = createPrisma(databaseUrl, 3);
    temporal = new Client({ connection: await Connection.connect({ address: stackInfo().temporalAddress }), namespace: isolated.namespace });
    [worker] = await Promise.all([startAppProcess('workers/main.ts', env, 'worker ready'), startApi()]);
  });
  afterAll(async () => {
    for (const p of [api, worker]) if (p && p.child.exitCode === null) p.child.kill('SIGKILL');
    await prisma?.$disconnect();
    await temporal?.connection.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('every 202 has its run and trigger_history row; retried unanswered deliveries run exactly once', async () => {
    const created = await fetch(`${apiUrl}/api/v1/triggers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'burst', type: 'webhook', config: { rateLimitPerMinute: 10_000 }, action: { kind: 'tool', tool: 'core.echo', args: { got: '{{payload}}' } } }),
    });
    expect(created.status).toBe(201);
    const hook = (await created.json()) as { id: string; webhookSecret: string };
    /** One signed delivery (a retry re-signs with a fresh timestamp, as a sender would); never throws. */
    const deliver = async (deliveryId: string): Promise<Outcome> => {
      const body = JSON.stringify({ deliveryId });
      const timestamp = String(Math.floor(Date.now() / 1000));
      try {
        const res = await fetch(`${apiUrl}/api/v1/webhooks/${hook.id}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', [TIMESTAMP_HEADER]: timestamp, [DELIVERY_HEADER]: deliveryId, [SIGNATURE_HEADER]: signWebhook(hook.webhookSecret, timestamp, Buffer.from(body)) },
          body,
        });
        await res.arrayBuffer();
        return res.status;
      } catch {
        return 'no answer';
      }
    };
    const workflowId = (deliveryId: string) => `trigger-${hook.id}-wh-${deliveryId}`;
    const runExists = (deliveryId: string) =>
      temporal.workflow.getHandle(workflowId(deliveryId)).describe().then(() => true, (error: unknown) => {
        if (error instanceof WorkflowNotFoundError) return false;
        throw error;
      });

    const outcomes = new Map<string, Outcome>();
    for (let burst = 0; burst < BURSTS; burst++) {
      // The whole burst is in flight; the API dies once a quarter of it has been answered.
      let answered = 0;
      const killAfter = Math.max(1, Math.floor(PER_BURST / 4));
      const ids = Array.from({ length: PER_BURST }, (_, i) => `b${burst}-${i}`);
      const exited = api.exited;
      const sent = ids.map(async (id) => {
        const outcome = await deliver(id);
        outcomes.set(id, outcome);
        if (outcome !== 'no answer' && ++answered === killAfter) api.child.kill('SIGKILL');
      });
      await Promise.all(sent);
      await exited;
      await startApi();
    }
    const accepted = [...outcomes].filter(([, o]) => o === 202).map(([id]) => id);
    const unanswered = [...outcomes].filter(([, o]) => o === 'no answer').map(([id]) => id);
    expect(accepted.length).toBeGreaterThan(0);
    expect(unanswered.length).toBeGreaterThan(0); // the kill did land mid-burst
    expect([...outcomes.values()].filter((o) => o !== 202 && o !== 'no answer')).toEqual([]);

    // Every 202 has its run, and its trigger_history row appears (recorded by the worker).
    for (const id of accepted) expect(await runExists(id)).toBe(true);
    const historyOf = () => prisma.triggerHistory.findMany({ where: { triggerId: hook.id }, select: { workflowId: true, status: true } });
    await eventually(historyOf, (rows) => accepted.every((id) => rows.some((r) => r.workflowId === workflowId(id) && r.status === 'succeeded')), 60_000);

    // The sender retries what got no answer with the same delivery id: it runs now, or it had
    // already run (409); a retry of an accepted delivery is a 409 and starts nothing.
    const recorded = new Set((await prisma.triggerWebhookDelivery.findMany({ where: { triggerId: hook.id } })).map((d) => d.deliveryId));
    const stranded = (await Promise.all(unanswered.map(async (id) => (recorded.has(id) && !(await runExists(id)) ? id : undefined)))).filter(Boolean);
    const retried = new Map<string, Outcome>();
    for (const id of [...unanswered, ...accepted.slice(0, 3)]) retried.set(id, await deliver(id));
    expect(accepted.slice(0, 3).map((id) => retried.get(id))).toEqual([409, 409, 409].slice(0, Math.min(3, accepted.length)));
    expect(unanswered.map((id) => [id, retried.get(id)]).filter(([, o]) => o !== 202 && o !== 409)).toEqual([]);

    // Nothing lost, nothing twice: one succeeded history row per delivery, for every delivery sent.
    const all = [...outcomes.keys()];
    const ran = await Promise.all(all.map(async (id) => [id, await runExists(id)] as const));
    expect(ran.filter(([, exists]) => !exists).map(([id]) => [id, outcomes.get(id), retried.get(id)])).toEqual([]);
    const rows = await eventually(historyOf, (r) => r.length >= all.length && r.every((x) => x.status === 'succeeded'), 60_000);
    expect(rows.map((r) => r.workflowId).sort()).toEqual(all.map(workflowId).sort());
    console.log(`chaos/api-kill-webhooks: ${BURSTS} bursts x ${PER_BURST}; ${accepted.length} answered 202, ${unanswered.length} unanswered (${[...retried.values()].filter((o) => o === 202).length} ran only on retry, ${stranded.length} of them recorded but not started when the API died)`);
  });
});
