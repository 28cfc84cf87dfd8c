import { stackApp } from './tool-test-app';
import { z } from 'zod';
import { defineTool, type BuiltinTool } from '../../activities/tools/tool-types';
import type { CollectedEvent } from './collecting-publisher';
import { type createApp } from '../../api/app';
import { AppError } from '../../platform/errors';
import { authed, createTestKey, testKeyService } from './api-auth';
import { openTestStack, type TestStack } from './test-stack';
import { eventually } from './wait';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON response bodies are read loosely in tests
export type RunBody = Record<string, any>;

export interface ToolCallRecord {
  tool: string;
  args: Record<string, unknown>;
  idempotencyKey?: string;
}

/** A stack with the API app, a worker whose tools include test tools, and every event collected. */
export interface PlanHarness {
  stack: TestStack;
  app: ReturnType<typeof createApp>;
  /** Requests as `admin` (a real API key). */
  api: ReturnType<typeof authed>;
  /** Requests as another principal. */
  as(principal: string): Promise<ReturnType<typeof authed>>;
  calls: ToolCallRecord[];
  /** Lets the `core.test.hold` calls with this token (and later ones) end. */
  release(token: string): void;
  /** The `core.test.hold` calls of run `runId` (keys `<runId>/...`) that have entered their tool. */
  holding(runId: string): ToolCallRecord[];
  events: CollectedEvent[];
  createPlan(body: Record<string, unknown>): Promise<string>;
  execute(planId: string, body?: Record<string, unknown>): Promise<string>;
  run(runId: string): Promise<RunBody>;
  waitFor(runId: string, done: (run: RunBody) => boolean, timeoutMs?: number): Promise<RunBody>;
  close(): Promise<void>;
}

/** A compensation that logs the id in step `id`'s output: tests read the order compensations ran in from `calls`. */
export const undo = (id: string) => ({ tool: 'core.test.log', args: { undo: `{{ steps.${id}.output.id }}` } });

/** A plan service's view of tools in which every name exists, may be run and takes any arguments: for tests of plan rules, not tool rules. */
export const everyToolAllowed = { exists: async () => true, assertMayRunTool: async () => undefined, argumentIssues: async () => [] };

/** Tokens that `core.test.hold` waits for: released by the test, whenever it chooses. */
export function createHolds() {
  const released = new Set<string>();
  const waiting = new Map<string, (() => void)[]>();
  return {
    release(token: string): void {
      released.add(token);
      for (const resume of waiting.get(token) ?? []) resume();
      waiting.delete(token);
    },
    /** Resolves once `token` is released (at once if it already was). */
    until(token: string): Promise<void> {
      if (released.has(token)) return Promise.resolve();
      return new Promise((resolve) => waiting.set(token, [...(waiting.get(token) ?? []), resolve]));
    },
  };
}
export type Holds = ReturnType<typeof createHolds>;

/**
 * Test tools: `test.log` records its call (args and idempotency key); `test.fail` always fails permanently; `test.flaky` fails once per key; `test.fail_once` fails permanently once per `args.token`;
 * `test.bytes` returns a large output from small arguments; `test.hold` records its call and runs until the test releases `args.token` (or the call is cancelled), then fails permanently when `args.fail`.
 */
export function testTools(calls: ToolCallRecord[], holds: Holds): BuiltinTool[] {
  const log = defineTool({
    definition: { name: 'core.test.log', description: 'records the call', category: 'test', parameters: {}, tags: [] },
    args: z.record(z.string(), z.unknown()),
    execute: async (args, context) => {
      calls.push({ tool: 'core.test.log', args, idempotencyKey: context.idempotencyKey });
      return args;
    },
  });
  const fail = defineTool({
    definition: { name: 'core.test.fail', description: 'always fails', category: 'test', parameters: {}, tags: [] },
    args: z.record(z.string(), z.unknown()),
    execute: async (args, context) => {
      calls.push({ tool: 'core.test.fail', args, idempotencyKey: context.idempotencyKey });
      throw new AppError('UNPROCESSABLE', `core.test.fail: ${String(args.reason ?? 'boom')}`);
    },
  });
  const seen = new Set<string>();
  const flaky = defineTool({
    definition: { name: 'core.test.flaky', description: 'fails (retryably) the first time it sees an idempotency key', category: 'test', parameters: {}, tags: [] },
    args: z.record(z.string(), z.unknown()),
    execute: async (args, context) => {
      calls.push({ tool: 'core.test.flaky', args, idempotencyKey: context.idempotencyKey });
      const key = context.idempotencyKey ?? '';
      if (!seen.has(key)) {
        seen.add(key);
        throw new Error('core.test.flaky: transient failure');
      }
      return args;
    },
  });
  const failedTokens = new Set<string>();
  const failOnce = defineTool({
    definition: { name: 'core.test.fail_once', description: 'fails permanently the first time it sees args.token, succeeds afterwards', category: 'test', parameters: {}, tags: [] },
    args: z.object({ token: z.string() }),
    execute: async (args, context) => {
      calls.push({ tool: 'core.test.fail_once', args, idempotencyKey: context.idempotencyKey });
      if (!failedTokens.has(args.token)) {
        failedTokens.add(args.token);
        throw new AppError('UNPROCESSABLE', `core.test.fail_once: first call with token ${args.token}`);
      }
      return args;
    },
  });
  const bytes = defineTool({
    definition: { name: 'core.test.bytes', description: 'returns args.bytes characters', category: 'test', parameters: {}, tags: [] },
    args: z.object({ bytes: z.number().int() }),
    execute: async (args) => ({ text: 'x'.repeat(args.bytes) }),
  });
  const hold = defineTool({
    definition: { name: 'core.test.hold', description: 'runs until the test releases args.token (then fails when args.fail)', category: 'test', parameters: {}, tags: [] },
    args: z.object({ token: z.string(), fail: z.boolean().optional() }),
    timeoutMs: 5 * 60_000,
    execute: async (args, context) => {
      calls.push({ tool: 'core.test.hold', args, idempotencyKey: context.idempotencyKey });
      await holds.until(args.token);
      if (args.fail === true) throw new AppError('UNPROCESSABLE', `core.test.hold: released to fail (${args.token})`);
      return args;
    },
  });
  return [log, fail, flaky, failOnce, bytes, hold] as BuiltinTool[];
}

/** Opens the test stack, starts a worker with the test tools and builds the API over it. */
export async function openPlanHarness(): Promise<PlanHarness> {
  const stack = await openTestStack();
  const calls: ToolCallRecord[] = [];
  const holds = createHolds();
  await stack.tools.registerBuiltinTools(testTools(calls, holds));
  // The worker publishes on the stack's bus; every plan.* event it carries is collected here.
  const events: CollectedEvent[] = [];
  stack.bus.subscribe('plan-harness', 'plan.**', (e) => void events.push({ type: e.type, data: e.data, source: e.source }));
  await stack.startWorker();
  const app = stackApp(stack);
  const as = async (principal: string) => authed(app, await createTestKey(testKeyService(stack.prisma), principal));
  const api = await as('admin');
  const run = async (runId: string) => (await api.get(`/api/v1/plans/runs/${runId}`).expect(200)).body as RunBody;
  return {
    stack,
    app,
    api,
    as,
    calls,
    release: holds.release,
    holding: (runId) => calls.filter((c) => c.tool === 'core.test.hold' && c.idempotencyKey?.startsWith(`${runId}/`)),
    events,
    async createPlan(body) {
      const res = await api.post('/api/v1/plans').send(body);
      if (res.status !== 201) throw new Error(`create failed ${res.status}: ${JSON.stringify(res.body)}`);
      return res.body.id as string;
    },
    async execute(planId, body = {}) {
      const res = await api.post(`/api/v1/plans/${planId}/execute`).send(body);
      if (res.status !== 202) throw new Error(`execute failed ${res.status}: ${JSON.stringify(res.body)}`);
      return res.body.runId as string;
    },
    run,
    waitFor: (runId, done, timeoutMs = 30_000) => eventually(() => run(runId), done, timeoutMs),
    close: () => stack.close(),
  };
}
