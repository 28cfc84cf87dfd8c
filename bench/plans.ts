import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createDatabaseAcl } from '../activities/acl/acl-service';
import { createApiKeyService } from '../activities/auth/api-key-service';
import { createPlanService } from '../activities/plans/plan-service';
import { openEventBus } from '../activities/events/open-event-bus';
import { createPluginService } from '../activities/plugins/plugin-service';
import { startToolRegistry } from '../activities/tools/tool-setup';
import { createApp } from '../api/app';
import { createPrisma } from '../platform/database';
import { createSqlPool } from '../platform/sql-pool';
import { startEmbeddedPostgres } from '../platform/local/embedded-postgres';
import { freePort } from '../platform/local/ports';
import { ensureTemporalCli } from '../platform/local/temporal-cli';
import { startTemporalDevServer } from '../platform/local/temporal-dev-server';
import { createLogger } from '../platform/logger';
import { migrate } from '../prisma/migrate';
import { createOwnPilotWorker } from '../workers/create-worker';
import { percentiles, type Benchmark, type BenchFigure } from './bench-types';
import { medianTimeline } from './history-timeline';
import { measureSideBySide, since } from './measure';

const SEQUENTIAL_RUNS = 100;
const WARMUP_RUNS = 20;
const THROUGHPUT_RUNS = 300;
const IN_FLIGHT = 32;

/** Pollers and cache for both workers when `--tuned` is given; SDK defaults otherwise. */
const TUNING = process.argv.includes('--tuned')
  ? {
      maxCachedWorkflows: 2000,
      workflowTaskPollerBehavior: { type: 'simple-maximum' as const, maximum: 8 },
      activityTaskPollerBehavior: { type: 'simple-maximum' as const, maximum: 8 },
    }
  : {};

const SIZES = { warmup: WARMUP_RUNS, sequential: SEQUENTIAL_RUNS, throughput: THROUGHPUT_RUNS, inFlight: IN_FLIGHT, blocks: 3 };

/**
 * A plan of 3 no-op tool steps executed through the HTTP API until its workflow completes,
 * beside a bare Temporal workflow of 3 no-op activities, on one server with one worker each.
 */
export const planBench: Benchmark = {
  name: 'plans: 3 no-op tool steps through the API vs bare Temporal',
  async run() {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ownpilot-bench-plans-'));
    fs.chmodSync(dir, 0o755);
    const temporal = await startTemporalDevServer({ cliPath: ensureTemporalCli(undefined), port: await freePort(), uiPort: 0, headless: true, dbFile: process.argv.includes('--memory') ? undefined : path.join(dir, 't.db'), namespace: 'default' });
    const postgres = await startEmbeddedPostgres(path.join(dir, 'pg'), await freePort());
    await migrate(postgres.databaseUrl);
    const prisma = createPrisma(postgres.databaseUrl, 20);
    const client = new Client({ connection: await Connection.connect({ address: temporal.address }), namespace: 'default' });
    const native = await NativeConnection.connect({ address: temporal.address });
    const bus = await openEventBus(postgres.databaseUrl, createLogger('bench-events', 'silent'));
    const { registry: tools, resources } = await startToolRegistry({
      prisma, events: bus, databaseUrl: postgres.databaseUrl, http: { allowPrivate: false, allowedHosts: [], maxResponseBytes: 64 * 1024, defaultTimeoutMs: 5_000 },
    });
    const pool = createSqlPool(postgres.databaseUrl, 6);
    const acl = createDatabaseAcl({ prisma, pool, events: bus });
    const keys = createApiKeyService({ prisma });
    try {
      // Bare Temporal: three no-op activities, beside the plan below.
      const bareWorker = await Worker.create({
        connection: native, taskQueue: 'bench-bare', workflowsPath: require.resolve('./bare-workflow'), activities: { noop: async (i: number) => i }, ...TUNING,
      });
      // OwnPilot: POST /execute through the API, then wait for the workflow's result.
      const service = createPlanService({ prisma, temporal: client, taskQueue: 'bench-plans', tools });
      const worker = await createOwnPilotWorker({ connection: native, namespace: 'default', taskQueue: 'bench-plans', activities: createActivities({ prisma, sql: pool, tools, acl, events: bus, plans: service }), tuning: TUNING });
      const app = createApp({ logger: createLogger('bench', 'silent'), health: { postgres: async () => undefined, temporal: async () => undefined }, plans: service, keys, acl, tools, resources, events: bus,
        plugins: createPluginService({ prisma, temporal: client, taskQueue: 'bench-plans', events: bus, pluginTools: tools }),
      });
      const { key } = await keys.createApiKey({ name: 'bench', principal: 'admin' });
      const server = app.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/plans`;
      const plan = await service.createPlan(
        {
          name: 'bench', maxConcurrentRuns: 1000, concurrency: 4, onFailure: 'fail', continueAsNewAfter: 500,
          steps: ['a', 'b', 'c'].map((id, i) => ({ id, kind: 'tool' as const, tool: 'core.echo', args: {}, dependsOn: i === 0 ? [] : [['a', 'b', 'c'][i - 1]!] })),
        },
        'bench',
      );
      const bareIds: string[] = [];
      const runIds: string[] = [];
      const answered: number[] = [];
      const bareOnce = async () => {
        const workflowId = `bare-${process.hrtime.bigint()}`;
        bareIds.push(workflowId);
        await client.workflow.execute('bareThreeActivities', { taskQueue: 'bench-bare', workflowId });
      };
      const planOnce = async () => {
        const posted = process.hrtime.bigint();
        const res = await fetch(`${base}/${plan.id}/execute`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: '{}' });
        if (res.status !== 202) throw new Error(`execute answered ${res.status}: ${await res.text()}`);
        const { runId } = (await res.json()) as { runId: string };
        answered.push(since(posted));
        runIds.push(runId);
        await client.workflow.getHandle(runId).result();
      };
      // Both workers poll throughout; the runs interleave so machine drift falls on both alike.
      const [bare, ours] = await bareWorker.runUntil(() => worker.runUntil(() => measureSideBySide(bareOnce, planOnce, SIZES)));
      server.close();
      // Where the time goes, one run at a time (the sequential part of the measurement).
      const sequential = <T>(list: T[]) => list.slice(WARMUP_RUNS, WARMUP_RUNS + SEQUENTIAL_RUNS);
      console.log(`  POST /execute answered 202: p50 ${percentiles(sequential(answered)).p50.toFixed(1)} ms`);
      // With runs in flight the machine's CPU is what runs out: where each run spends it.
      for (const [name, side] of [['bare', bare], ['plan', ours]] as const) {
        const spent = Object.entries(side.cpuPerRun).filter(([, ms]) => ms >= 0.05).map(([process, ms]) => `${process} ${ms.toFixed(1)}`);
        console.log(`  ${name}: CPU ms per run with ${IN_FLIGHT} in flight: ${spent.join(', ')}`);
      }
      for (const [name, ids] of [['bare', bareIds], ['plan', runIds]] as const) {
        for (const line of await medianTimeline(client, sequential(ids))) console.log(`  ${name}: ${line}`);
      }
      const figures: BenchFigure[] = [
        { name: 'bare Temporal, 3 no-op activities: p50', value: bare.p50, unit: 'ms' },
        { name: 'bare Temporal, 3 no-op activities: p99', value: bare.p99, unit: 'ms' },
        { name: `bare Temporal: workflows/s (${IN_FLIGHT} in flight)`, value: bare.perSecond, unit: '/s' },
        { name: 'plan, 3 no-op tool steps via API: p50', value: ours.p50, unit: 'ms', target: 50 },
        { name: 'plan, 3 no-op tool steps via API: p99', value: ours.p99, unit: 'ms' },
        { name: `plan: plans/s (${IN_FLIGHT} in flight, one worker)`, value: ours.perSecond, unit: '/s', target: 50, higherIsBetter: true },
        { name: 'overhead: plan p50 / bare p50', value: ours.p50 / bare.p50, unit: 'x', target: 1.3 },
        { name: 'overhead: bare throughput / plan throughput', value: bare.perSecond / ours.perSecond, unit: 'x', target: 1.3 },
      ];
      return figures;
    } finally {
      await native.close();
      await client.connection.close();
      await prisma.$disconnect();
      await pool.end();
      await tools.close();
      await bus.close();
      await Promise.allSettled([temporal.stop(), postgres.stop()]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
