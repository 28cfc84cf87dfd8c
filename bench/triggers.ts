import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createDatabaseAcl } from '../activities/acl/acl-service';
import { createApiKeyService } from '../activities/auth/api-key-service';
import { CreatePlanBody } from '../activities/plans/plan-schemas';
import { createPlanService } from '../activities/plans/plan-service';
import { openEventBus } from '../activities/events/open-event-bus';
import { createPluginService } from '../activities/plugins/plugin-service';
import { startToolRegistry } from '../activities/tools/tool-setup';
import { createEventTriggerDispatcher } from '../activities/triggers/event-trigger-dispatcher';
import { createTriggerRunStarter } from '../activities/triggers/trigger-run-starter';
import { createTriggerService } from '../activities/triggers/trigger-service';
import { createRateLimiter } from '../activities/triggers/webhook-rate-limiter';
import { createWebhookReceiver } from '../activities/triggers/webhook-receiver';
import { DELIVERY_HEADER, SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from '../activities/triggers/webhook-signature';
import { createApp } from '../api/app';
import { createPrisma } from '../platform/database';
import { newId } from '../platform/ids';
import { startEmbeddedPostgres } from '../platform/local/embedded-postgres';
import { freePort } from '../platform/local/ports';
import { ensureTemporalCli } from '../platform/local/temporal-cli';
import { startTemporalDevServer } from '../platform/local/temporal-dev-server';
import { waitFor } from '../platform/local/wait-for';
import { createLogger } from '../platform/logger';
import { createSecretBox } from '../platform/secret-box';
import { createSqlPool } from '../platform/sql-pool';
import { migrate } from '../prisma/migrate';
import { createOwnPilotWorker } from '../workers/create-worker';
import { type Benchmark, percentiles } from './bench-types';

const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;
const WEBHOOK_SAMPLES = 200;
const EVENT_SAMPLES = 200;
const SCHEDULE_SAMPLES = 10;

/** Trigger latencies on a stack of its own: webhook → run started, event → run started, schedule due → plan started. */
export const triggersBench: Benchmark = {
  name: 'triggers',
  async run() {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ownpilot-bench-triggers-'));
    fs.chmodSync(dir, 0o755);
    const temporalServer = await startTemporalDevServer({ cliPath: ensureTemporalCli(undefined), port: await freePort(), uiPort: 0, headless: true, dbFile: path.join(dir, 't.db'), namespace: 'default' });
    const postgres = await startEmbeddedPostgres(path.join(dir, 'pg'), await freePort());
    await migrate(postgres.databaseUrl);
    const prisma = createPrisma(postgres.databaseUrl);
    const connection = await Connection.connect({ address: temporalServer.address });
    const temporal = new Client({ connection });
    const native = await NativeConnection.connect({ address: temporalServer.address });
    const taskQueue = 'bench-triggers';
    const logger = createLogger('bench', 'silent');
    const pool = createSqlPool(postgres.databaseUrl, 2);
    const events = await openEventBus(postgres.databaseUrl, logger);
    const acl = createDatabaseAcl({ prisma, pool, events });
    const { registry: tools, resources } = await startToolRegistry({ prisma, events, databaseUrl: postgres.databaseUrl, http: { allowPrivate: false, allowedHosts: [], maxResponseBytes: 1000, defaultTimeoutMs: 1000 } });
    const plans = createPlanService({ prisma, temporal, taskQueue, tools });
    const worker = await createOwnPilotWorker({ connection: native, namespace: 'default', taskQueue, activities: createActivities({ prisma, sql: pool, tools, plans, events, acl }) });
    const running = worker.run();
    const secrets = createSecretBox(randomBytes(32));
    const starter = createTriggerRunStarter({ temporal, taskQueue });
    const triggers = createTriggerService({ prisma, temporal, taskQueue, starter, secrets, plans, tools });
    const app = createApp({
      logger,
      health: { postgres: () => prisma.$queryRaw`SELECT 1`, temporal: () => connection.workflowService.getSystemInfo({}) },
      plans,
      tools,
      resources,
      events,
      plugins: createPluginService({ prisma, temporal, taskQueue, events, pluginTools: tools }),
      keys: createApiKeyService({ prisma }),
      acl,
      triggers,
      webhooks: createWebhookReceiver({ prisma, secrets, starter, rateLimiter: createRateLimiter() }),
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const echo = { kind: 'tool' as const, tool: 'core.echo', args: { got: '{{payload}}' } };

      // Webhook request → 202 (answered once Temporal accepted the trigger-run start).
      const hook = await triggers.createTrigger({ name: 'bench hook', type: 'webhook', config: { toleranceSeconds: 300, maxBodyBytes: 65536, rateLimitPerMinute: 10_000 }, action: echo, enabled: true }, 'bench');
      const webhook: number[] = [];
      for (let i = 0; i < WEBHOOK_SAMPLES + 20; i++) {
        const body = JSON.stringify({ i, at: Date.now() });
        const timestamp = String(Math.floor(Date.now() / 1000));
        const t = process.hrtime.bigint();
        const res = await fetch(`${base}/api/v1/webhooks/${hook.id}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', [TIMESTAMP_HEADER]: timestamp, [DELIVERY_HEADER]: `b-${i}`, [SIGNATURE_HEADER]: signWebhook(hook.webhookSecret!, timestamp, Buffer.from(body)) },
          body,
        });
        const elapsed = ms(t);
        if (res.status !== 202) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
        if (i >= 20) webhook.push(elapsed); // first 20 warm up connections and caches
      }

      // Baseline: the bare Temporal start of a trigger-run workflow, which every path above includes.
      const bare: number[] = [];
      for (let i = 0; i < 120; i++) {
        const t = process.hrtime.bigint();
        await starter.start(`bare-${i}`, { triggerId: hook.id, source: 'manual' });
        if (i >= 20) bare.push(ms(t));
      }

      // Event emitted on the bus → trigger-run workflow started (Temporal accepted the start), with
      // the dispatcher attached to the bus as api/main.ts does. Two emitters: this bus itself, and
      // a second bus on its own connections (another process: event_log + LISTEN/NOTIFY).
      const onEvent = await triggers.createTrigger({ name: 'bench event', type: 'event', config: { pattern: 'resource.created', filter: { path: 'data.kind', op: 'eq', value: 'note' } }, action: echo, enabled: true }, 'bench');
      const startedRuns = new Map<string, () => void>();
      const timedStarter: typeof starter = {
        async start(suffix, input) {
          const result = await starter.start(suffix, input);
          startedRuns.get(suffix)?.();
          return result;
        },
      };
      const detach = createEventTriggerDispatcher({ prisma, starter: timedStarter, logger }).attach(events);
      const otherProcess = await openEventBus(postgres.databaseUrl, logger);
      const emitToStart = async (bus: typeof events, samples: number): Promise<number[]> => {
        const out: number[] = [];
        for (let i = 0; i < samples + 20; i++) {
          const id = newId();
          let emitted = 0n;
          const started = new Promise<void>((resolve) => startedRuns.set(`ev-${id}`, resolve));
          await new Promise<void>((resolve, reject) => {
            const timeout = setTimeout(() => reject(new Error('event trigger did not fire within 10 s')), 10_000);
            started.then(() => {
              clearTimeout(timeout);
              resolve();
            }, reject);
            emitted = process.hrtime.bigint();
            void bus.emitAsync('resource.created', { resourceType: 'note', id, kind: 'note', i }, 'bench', { id, until: 'committed' });
          });
          const elapsed = ms(emitted);
          startedRuns.delete(`ev-${id}`);
          if (i >= 20) out.push(elapsed);
        }
        return out;
      };
      const event = await emitToStart(events, EVENT_SAMPLES);
      const eventRemote = await emitToStart(otherProcess, EVENT_SAMPLES);
      detach();
      await otherProcess.close();
      await triggers.deleteTrigger(onEvent.id);
      await triggers.deleteTrigger(hook.id);

      // Schedule due time → plan workflow started (Temporal's scheduled time vs the plan run's start time).
      const plan = await plans.createPlan(CreatePlanBody.parse({ name: 'bench plan', steps: [{ id: 'a', kind: 'tool', tool: 'core.echo', args: {} }] }), 'bench');
      const every = await triggers.createTrigger({ name: 'bench schedule', type: 'schedule', config: { intervalSeconds: 1, timezone: 'UTC', overlap: 'allow_all', catchupWindowSeconds: 60, jitterSeconds: 0, pauseOnFailure: false }, action: { kind: 'plan', planId: plan.id, input: {} }, enabled: true }, 'bench');
      await waitFor('schedule firings', async () => (await prisma.triggerHistory.count({ where: { triggerId: every.id, planWorkflowId: { not: null } } })) >= SCHEDULE_SAMPLES + 2, 60_000, 200);
      await triggers.disableTrigger(every.id);
      const rows = await prisma.triggerHistory.findMany({ where: { triggerId: every.id, planWorkflowId: { not: null } }, orderBy: { firedAt: 'asc' } });
      const lag: number[] = [];
      const runLag: number[] = [];
      for (const row of rows.slice(2)) {
        const run = await temporal.workflow.getHandle(row.workflowId).describe();
        const due = run.searchAttributes.TemporalScheduledStartTime?.[0];
        if (!(due instanceof Date)) continue;
        const planRun = await temporal.workflow.getHandle(row.planWorkflowId!).describe();
        lag.push(planRun.startTime.getTime() - due.getTime());
        runLag.push(run.startTime.getTime() - due.getTime());
      }

      const b = percentiles(bare);
      const w = percentiles(webhook);
      const ev = percentiles(event);
      const evr = percentiles(eventRemote);
      const s = percentiles(lag);
      const r = percentiles(runLag);
      return [
        { name: `webhook request → trigger-run started, p50 (n=${webhook.length})`, value: w.p50, unit: 'ms', target: 30 },
        { name: 'webhook request → trigger-run started, p99', value: w.p99, unit: 'ms' },
        { name: 'baseline: bare Temporal workflow start, p50', value: b.p50, unit: 'ms' },
        { name: 'webhook p50 / bare start p50', value: w.p50 / b.p50, unit: 'x' },
        { name: `event emitted on the bus → trigger-run started, p50 (n=${event.length})`, value: ev.p50, unit: 'ms', target: 50 },
        { name: 'event emitted on the bus → trigger-run started, p99', value: ev.p99, unit: 'ms' },
        { name: `  emitted by another process (LISTEN/NOTIFY), p50 (n=${eventRemote.length})`, value: evr.p50, unit: 'ms', target: 50 },
        { name: '  emitted by another process (LISTEN/NOTIFY), p99', value: evr.p99, unit: 'ms' },
        { name: '  event p50 / bare start p50', value: ev.p50 / b.p50, unit: 'x' },
        { name: `schedule due → plan workflow started, lag p50 (n=${lag.length})`, value: s.p50, unit: 'ms', target: 1000 },
        { name: 'schedule due → plan workflow started, lag p99', value: s.p99, unit: 'ms' },
        { name: '  of which: schedule due → trigger-run started (Temporal), p50', value: r.p50, unit: 'ms' },
      ];
    } finally {
      server.close();
      worker.shutdown();
      await running;
      await native.close();
      await connection.close();
      await tools.close();
      await events.close();
      await pool.end();
      await prisma.$disconnect();
      await Promise.allSettled([temporalServer.stop(), postgres.stop()]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
