import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { freePort } from '../platform/local/ports';
import { ensureTemporalCli } from '../platform/local/temporal-cli';
import { startTemporalDevServer, type TemporalDevServerOptions } from '../platform/local/temporal-dev-server';
import type { Benchmark, BenchFigure } from './bench-types';
import { measureLatencyAndThroughput } from './measure';

const SEQUENTIAL = Number(process.env.BENCH_PROFILE_RUNS ?? 40);
const BURST = Number(process.env.BENCH_PROFILE_BURST ?? 150);
const IN_FLIGHT = 16;

interface Variant {
  name: string;
  server: Pick<TemporalDevServerOptions, 'sync' | 'sqlitePragmas' | 'dynamicConfig'> & { memory?: boolean };
  worker?: Partial<WorkerOptions>;
}

/** The dev server as it was before this profile: Temporal's defaults. */
const BEFORE = {
  'history.transferProcessorMaxPollRPS': 20,
  'history.timerProcessorMaxPollRPS': 20,
  'system.enableActivityEagerExecution': false,
  'matching.numTaskqueueReadPartitions': 4,
  'matching.numTaskqueueWritePartitions': 4,
};
const ROLLBACK_JOURNAL = { journal_mode: 'delete' };

/** Each row changes one thing against the row before it. */
const VARIANTS: Variant[] = [
  { name: 'before: file, rollback journal, Temporal defaults', server: { sqlitePragmas: ROLLBACK_JOURNAL, dynamicConfig: BEFORE } },
  { name: 'before, but in-memory (no --db-filename)', server: { memory: true, dynamicConfig: BEFORE } },
  { name: 'before + history queue poll RPS 20 → 1000', server: { sqlitePragmas: ROLLBACK_JOURNAL, dynamicConfig: { ...BEFORE, 'history.transferProcessorMaxPollRPS': 1000, 'history.timerProcessorMaxPollRPS': 1000 } } },
  { name: '  + eager activity dispatch', server: { sqlitePragmas: ROLLBACK_JOURNAL, dynamicConfig: { ...BEFORE, 'history.transferProcessorMaxPollRPS': 1000, 'history.timerProcessorMaxPollRPS': 1000, 'system.enableActivityEagerExecution': true } } },
  { name: '  + WAL journal (synchronous=FULL)', server: { dynamicConfig: { 'matching.numTaskqueueReadPartitions': 4, 'matching.numTaskqueueWritePartitions': 4 } } },
  { name: '  + 1 task-queue partition = new default', server: {} },
  { name: 'new default, worker reuseV8Context=false', server: {}, worker: { reuseV8Context: false } },
  { name: 'new default, synchronous=NORMAL (opt-in)', server: { sync: 'normal' } },
  { name: 'new default, in-memory', server: { memory: true } },
];


/**
 * Bare Temporal (3 no-op activities) on a fresh dev server per variant: which server and worker
 * settings decide the latency floor a plan can reach on this machine.
 */
export const temporalProfile: Benchmark = {
  name: 'temporal-profile: bare 3-activity workflow under dev-server/worker variants',
  async run() {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    const only = process.env.BENCH_PROFILE_ONLY;
    const workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('./bare-workflow'), logger: new DefaultLogger('WARN') });
    const figures: BenchFigure[] = [];
    for (const variant of VARIANTS.filter((v, i) => !only || only.split(',').includes(String(i)))) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ownpilot-bench-profile-'));
      const { memory, ...server } = variant.server;
      const temporal = await startTemporalDevServer({ cliPath: ensureTemporalCli(undefined), port: await freePort(), uiPort: 0, headless: true, namespace: 'default', dbFile: memory ? undefined : path.join(dir, 't.db'), ...server });
      const connection = await Connection.connect({ address: temporal.address });
      const client = new Client({ connection, namespace: 'default' });
      const native = await NativeConnection.connect({ address: temporal.address });
      try {
        const worker = await Worker.create({ connection: native, taskQueue: 'profile', workflowBundle, activities: { noop: async (i: number) => i }, ...variant.worker });
        const once = () => client.workflow.execute('bareThreeActivities', { taskQueue: 'profile', workflowId: `bare-${process.hrtime.bigint()}` });
        const result = await worker.runUntil(() => measureLatencyAndThroughput(once, { warmup: 5, sequential: SEQUENTIAL, throughput: BURST, inFlight: IN_FLIGHT }));
        figures.push(
          { name: `${variant.name}: p50`, value: result.p50, unit: 'ms' },
          { name: `${variant.name}: p99`, value: result.p99, unit: 'ms' },
          { name: `${variant.name}: workflows/s (${IN_FLIGHT} in flight)`, value: result.perSecond, unit: '/s' },
        );
      } finally {
        await native.close();
        await connection.close();
        await temporal.stop();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
    return figures;
  },
};
