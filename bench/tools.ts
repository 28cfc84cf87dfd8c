import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { CORE_TOOLS } from '../activities/tools/builtin/core-tools';
import { createIsolatedSandbox } from '../activities/tools/sandbox/isolated-sandbox';
import { createQuickJsSandbox } from '../activities/tools/sandbox/quickjs-sandbox';
import { createToolRegistry } from '../activities/tools/tool-registry';
import { createPrisma } from '../platform/database';
import { startEmbeddedPostgres } from '../platform/local/embedded-postgres';
import { freePort } from '../platform/local/ports';
import { migrate } from '../prisma/migrate';
import { percentiles, type Benchmark } from './bench-types';

const CUSTOM_CODE = 'const total = args.values.reduce((a, b) => a + b, 0); return { total, mean: total / args.values.length }';
const CUSTOM_ARGS = { values: [1, 2, 3, 4, 5, 6, 7, 8] };
// The security review's fan-out (F5): one call runs 40 nested tools that each hold 12 MB across
// a host call (so their runtimes stay alive together); 80 host calls, within the budget.
const FANOUT = 40;
const HOG_CODE = "const keep = []; for (let i = 0; i < 12; i++) keep.push(new Uint8Array(1024 * 1024).fill(1)); await tools.call('core.echo', {}); return keep.length;";
const MiB = 1024 * 1024;

/** executeTool of a built-in no-op (validation + permission check + events + metrics) and sandboxed custom tools, cold and warm. */
export const toolsBench: Benchmark = {
  name: 'tool registry',
  async run() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ownpilot-bench-tools-'));
    fs.chmodSync(dir, 0o755);
    const postgres = await startEmbeddedPostgres(path.join(dir, 'pg'), await freePort());
    const prisma = createPrisma(postgres.databaseUrl, 4);
    try {
      await migrate(postgres.databaseUrl);
      let emitted = 0;
      const sandbox = createIsolatedSandbox({ maxDepth: 3 });
      const registry = createToolRegistry({ prisma, events: { emit: () => void (emitted += 1) }, databaseUrl: postgres.databaseUrl, sandbox });
      await registry.ready();
      await registry.registerBuiltinTools(CORE_TOOLS);
      const context = { requesterId: 'user:bench' };

      for (let i = 0; i < 2_000; i++) await registry.executeTool('core.echo', { i }, context);
      const calls = 50_000;
      let t = performance.now();
      for (let i = 0; i < calls; i++) await registry.executeTool('core.echo', { i }, context);
      const builtinPerSecond = calls / ((performance.now() - t) / 1000);

      t = performance.now();
      await createQuickJsSandbox().run({ code: CUSTOM_CODE, args: CUSTOM_ARGS });
      const processFirstMs = performance.now() - t;
      const coldSandbox: number[] = [];
      for (let i = 0; i < 20; i++) {
        const sandbox = createQuickJsSandbox();
        t = performance.now();
        await sandbox.run({ code: CUSTOM_CODE, args: CUSTOM_ARGS });
        coldSandbox.push(performance.now() - t);
      }

      const schema = (i: number) => ({ type: 'object', properties: { values: { type: 'array', items: { type: 'number' } }, [`p${i}`]: { type: 'string' } }, required: ['values'] });
      const names: string[] = [];
      for (let i = 0; i < 30; i++) {
        const name = `bench_${Date.now()}_${i}`;
        await registry.registerCustomTool('bench', { name, description: 'sum and mean', code: CUSTOM_CODE, requiresApproval: false, parameters: schema(i) });
        names.push(`custom.${name}`);
      }
      const coldTool: number[] = [];
      for (const name of names) {
        t = performance.now();
        await registry.execute(name, CUSTOM_ARGS, context);
        coldTool.push(performance.now() - t);
      }
      const warm: number[] = [];
      for (let i = 0; i < 20; i++) await registry.execute(names[0]!, CUSTOM_ARGS, context);
      for (let i = 0; i < 500; i++) {
        t = performance.now();
        await registry.execute(names[0]!, CUSTOM_ARGS, context);
        warm.push(performance.now() - t);
      }
      const hog = `custom.bench_hog_${Date.now()}`;
      const fanout = `custom.bench_fanout_${Date.now()}`;
      await registry.registerCustomTool('bench', { name: hog.slice('custom.'.length), description: 'holds 12 MB', code: HOG_CODE, requiresApproval: false, allowedTools: ['core.echo'] });
      await registry.registerCustomTool('bench', {
        name: fanout.slice('custom.'.length), description: 'fans out', requiresApproval: false, allowedTools: [hog],
        code: `return (await Promise.all(Array.from({ length: ${FANOUT} }, () => tools.call('${hog}', {})))).length;`,
      });
      const rssBefore = process.memoryUsage().rss;
      const workersBefore = sandbox.stats().workersStarted;
      t = performance.now();
      await registry.execute(fanout, {}, context);
      const fanoutMs = performance.now() - t;
      const rssAfter = process.memoryUsage().rss;
      const { peakLiveRuns } = sandbox.stats();
      // The grown worker was replaced when it went idle: this run starts a fresh one.
      t = performance.now();
      await registry.execute(names[0]!, CUSTOM_ARGS, context);
      const afterRecycleMs = performance.now() - t;
      if (sandbox.stats().workersStarted !== workersBefore + 1) throw new Error('the grown sandbox worker was not replaced');
      const wasmAfterRecycle = sandbox.stats().wasmBytes;
      await registry.close();
      const sandboxP = percentiles(coldSandbox);
      const coldToolP = percentiles(coldTool);
      const warmP = percentiles(warm);
      if (emitted === 0) throw new Error('no tool.executed events were emitted');
      return [
        { name: 'executeTool core.echo in-process (validate + permission + event)', value: builtinPerSecond, unit: 'calls/s', target: 20_000, higherIsBetter: true },
        { name: 'first sandbox run in a process (compiles the WASM)', value: processFirstMs, unit: 'ms' },
        { name: 'sandbox cold: new WASM instance + runtime + run, p50', value: sandboxP.p50, unit: 'ms', target: 20 },
        { name: 'custom tool cold: first executeTool (DB load, schema, runtime), p50', value: coldToolP.p50, unit: 'ms', target: 20 },
        { name: 'custom tool cold, p99', value: coldToolP.p99, unit: 'ms' },
        { name: 'custom tool warm: executeTool (fresh runtime per call), p50', value: warmP.p50, unit: 'ms', target: 2 },
        { name: 'custom tool warm, p99', value: warmP.p99, unit: 'ms' },
        { name: `fan-out of ${FANOUT} nested 12 MB tools, one executeTool`, value: fanoutMs, unit: 'ms' },
        { name: 'fan-out: peak sandbox runs alive at once', value: peakLiveRuns, unit: 'runs', target: 16 },
        { name: 'fan-out: process RSS growth', value: (rssAfter - rssBefore) / MiB, unit: 'MB' },
        { name: 'WASM memory after the idle worker was replaced', value: wasmAfterRecycle / MiB, unit: 'MB' },
        { name: 'first custom tool run on a replaced worker', value: afterRecycleMs, unit: 'ms' },
      ];
    } finally {
      await prisma.$disconnect();
      await postgres.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
