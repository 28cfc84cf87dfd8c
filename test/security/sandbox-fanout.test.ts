import { getEventListeners } from 'node:events';
import { ApplicationFailure } from '@temporalio/common';
import { toActivityFailure } from '../../activities/activity-failure';
import { CORE_TOOLS } from '../../activities/tools/builtin/core-tools';
import { createIsolatedSandbox, type IsolatedSandbox } from '../../activities/tools/sandbox/isolated-sandbox';
import { createToolRegistry, type ToolRegistry } from '../../activities/tools/tool-registry';
import { createPrisma, type PrismaClient } from '../../platform/database';
import { newId } from '../../platform/ids';
import { createCollectingPublisher } from '../support/collecting-publisher';
import { stackInfo } from '../support/stack-info';
import { eventually } from '../support/wait';

const MiB = 1024 * 1024;
// Holds 12 MB of its 16 MB limit while it waits on host calls: the reviewer's memory hog.
const HOG = 'const keep = []; for (let i = 0; i < 12; i++) keep.push(new Uint8Array(1024 * 1024).fill(1));';

// Fan-out attacks through the real registry and worker-thread sandbox with production limits:
// host calls are capped per execution (across nesting) and in flight per run, live runtimes per
// process, and a worker whose WASM memory grew is replaced once idle.
describe('custom tool sandbox: fan-out and memory bounds', () => {
  let prisma: PrismaClient;
  let sandbox: IsolatedSandbox;
  let tools: ToolRegistry;
  const events = createCollectingPublisher();
  const owner = `fan${newId(5).toLowerCase()}`;
  const caller = `user:${owner}`;

  beforeAll(async () => {
    prisma = createPrisma(stackInfo().databaseUrl, 3);
    // The registry's defaults (100 host calls, 8 in flight, depth 3), with the sandbox in reach for its counters.
    sandbox = createIsolatedSandbox({ maxDepth: 3 });
    tools = createToolRegistry({ prisma, events, sandbox });
    await tools.ready();
    await tools.registerBuiltinTools(CORE_TOOLS);
  });
  afterAll(async () => {
    await tools.close();
    await prisma.$disconnect();
  });

  const custom = async (code: string, allowedTools: string[] = []) => {
    const name = `t_${newId(8).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`;
    await tools.registerCustomTool(owner, { name, description: 'test', code, requiresApproval: false, allowedTools, parameters: { type: 'object' } });
    return `custom.${name}`;
  };
  const execute = (name: string) => tools.execute(name, {}, { requesterId: caller });
  const executions = (name: string) => events.ofType('tool.executed').filter((e) => (e.data as { tool: string }).tool === name).length;
  const callLimit = { code: 'TOOL_FAILED', details: { reason: 'call_limit' } };

  test("the reviewer's fan-out: Promise.all over nested memory hogs is cut at the call budget, with at most 8 hogs alive", async () => {
    const hog = await custom(`${HOG} for (let i = 0; i < 5; i++) await tools.call('core.echo', { i }); return keep.length;`, ['core.echo']);
    const fanout = await custom(`return (await Promise.all(Array.from({ length: 40 }, () => tools.call('${hog}', {})))).length;`, [hog]);
    const { workersStarted } = sandbox.stats();
    events.clear();
    // 40 hog calls + 5 echo calls each = 240 host calls in one execution: over the 100 budget.
    await expect(execute(fanout)).rejects.toMatchObject(callLimit);
    expect(executions(hog) + executions('core.echo')).toBeLessThanOrEqual(100);
    // the fan-out run and 8 hogs in flight: never 40 runtimes at once
    expect(sandbox.stats().peakLiveRuns).toBeLessThanOrEqual(1 + 8);
    // the hogs still in flight are cancelled with the run that called them
    await eventually(async () => sandbox.stats().liveRuns, (n) => n === 0);
    // 8 concurrent 12 MB hogs grew the WASM memory past 64 MiB: the idle worker was replaced, and a fresh one starts small
    await expect(execute(await custom('return 1'))).resolves.toBe(1);
    expect(sandbox.stats().workersStarted).toBe(workersStarted + 1);
    expect(sandbox.stats().wasmBytes).toBeLessThanOrEqual(32 * MiB);
  });

  test('Promise.all past the in-flight cap waits its turn and completes correctly', async () => {
    const hog = await custom(`${HOG} return args.i * 2;`);
    const fanout = await custom(`return await Promise.all(Array.from({ length: 40 }, (_, i) => tools.call('${hog}', { i })));`, [hog]);
    await expect(execute(fanout)).resolves.toEqual(Array.from({ length: 40 }, (_, i) => i * 2));
    expect(sandbox.stats().peakLiveRuns).toBeLessThanOrEqual(1 + 8);
  });

  test('the call budget counts across nesting: 10 calls of a tool making 10 calls each is 110', async () => {
    const inner = await custom("for (let i = 0; i < 10; i++) await tools.call('core.echo', { i }); return 10;", ['core.echo']);
    const outer = await custom(`let n = 0; for (let i = 0; i < 10; i++) n += await tools.call('${inner}', {}); return n;`, [inner]);
    await expect(execute(outer)).rejects.toMatchObject(callLimit);
    // 9 of them fit: 9 × (1 + 10) = 99
    const nine = await custom(`let n = 0; for (let i = 0; i < 9; i++) n += await tools.call('${inner}', {}); return n;`, [inner]);
    await expect(execute(nine)).resolves.toBe(90);
  });

  test('a tool that catches the refusal still fails, and nothing past the budget ran', async () => {
    const greedy = await custom("let ok = 0; for (let i = 0; i < 150; i++) { try { await tools.call('core.echo', { i }); ok++; } catch {} } return ok;", ['core.echo']);
    events.clear();
    await expect(execute(greedy)).rejects.toMatchObject(callLimit);
    expect(executions('core.echo')).toBe(100);
  });

  test('an ordinary tool making 50 sequential host calls succeeds', async () => {
    const steady = await custom("let sum = 0; for (let i = 0; i < 50; i++) sum += (await tools.call('core.math', { op: 'add', values: [i, 1] })).result; return sum;", ['core.math']);
    await expect(execute(steady)).resolves.toBe(1275);
  });

  test('a plan step fails non-retryably on the call limit', async () => {
    const greedy = await custom("for (let i = 0; i < 101; i++) await tools.call('core.echo', { i }); return 1;", ['core.echo']);
    const failure = await execute(greedy).catch((error: unknown) => toActivityFailure(error));
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'TOOL_FAILED', nonRetryable: true });
  });

  test('many concurrent executions of a 4-deep chain all complete with at most 16 runtimes alive', async () => {
    // D is the deepest (depth 3); each level awaits the next, so every run holds its runtime while it waits.
    const d = await custom(`${HOG} return 1;`);
    const c = await custom(`return 1 + (await tools.call('${d}', {}));`, [d]);
    const b = await custom(`return 1 + (await tools.call('${c}', {}));`, [c]);
    const a = await custom(`return 1 + (await tools.call('${b}', {}));`, [b]);
    const results = await Promise.all(Array.from({ length: 30 }, () => execute(a)));
    expect(results).toEqual(Array(30).fill(4));
    expect(sandbox.stats()).toMatchObject({ liveRuns: 0, queuedRuns: 0 });
    expect(sandbox.stats().peakLiveRuns).toBeLessThanOrEqual(16);
  });
});

describe('sandbox pool: waiting runs are bounded and keep their deadline', () => {
  test('runs past the live limit queue, the queue is bounded, and a queued run times out within its own limit', async () => {
    const pool = createIsolatedSandbox({ maxLiveRuns: 2, maxQueuedRuns: 1, maxDepth: 1 });
    const gates: (() => void)[] = [];
    // held open by a host call that the test answers
    const callTool = () => new Promise<unknown>((resolve) => gates.push(() => resolve(1)));
    try {
      // one top-level slot (the other is kept for a nested run)
      const holding = pool.run({ code: 'return await tools.call("x", {})', args: {}, callTool, limits: { timeoutMs: 20_000 } });
      await eventually(async () => gates.length, (n) => n === 1);
      const queued = pool.run({ code: 'return 2', args: {}, limits: { timeoutMs: 20_000 } });
      await expect(pool.run({ code: 'return 3', args: {} })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      // a nested run gets the kept-back slot at once
      await expect(pool.run({ code: 'return 4', args: {}, depth: 1 })).resolves.toBe(4);
      expect(pool.stats()).toMatchObject({ liveRuns: 1, queuedRuns: 1 });
      gates.shift()!();
      await expect(holding).resolves.toBe(1);
      await expect(queued).resolves.toBe(2);
      const again = pool.run({ code: 'return await tools.call("x", {})', args: {}, callTool, limits: { timeoutMs: 20_000 } });
      await eventually(async () => gates.length, (n) => n === 1);
      await expect(pool.run({ code: 'return 5', args: {}, limits: { timeoutMs: 50 } })).rejects.toMatchObject({ code: 'TOOL_FAILED', details: { reason: 'timeout' } });
      gates.shift()!();
      await expect(again).resolves.toBe(1);
      expect(pool.stats()).toMatchObject({ peakLiveRuns: 2, liveRuns: 0, queuedRuns: 0 });
    } finally {
      await pool.close();
    }
  });
});

describe('sandbox runs and their abort signal', () => {
  test('a run leaves no listener on the signal it was given, so a long-lived signal does not keep every run (and its worker)', async () => {
    const pool = createIsolatedSandbox({ maxDepth: 1 });
    const signal = new AbortController().signal;
    try {
      for (let n = 0; n < 20; n++) await expect(pool.run({ code: `return ${n}`, args: {}, signal })).resolves.toBe(n);
      await expect(pool.run({ code: 'throw new Error("no")', args: {}, signal })).rejects.toBeDefined();
      expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    } finally {
      await pool.close();
    }
  });
});
