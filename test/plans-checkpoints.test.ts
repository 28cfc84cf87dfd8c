import { z } from 'zod';
import { defineTool, type BuiltinTool } from '../activities/tools/tool-types';
import { TERMINAL_RUN_STATUSES } from '../workflows/plan-types';
import { openPlanHarness, type PlanHarness, type RunBody } from './support/plan-harness';
import { eventually } from './support/wait';

// Checkpoint bookkeeping stays linear in a run's outputs: long runs complete, checkpoints rebuild
// their outputs from the rows before them, and a run's outputs are bounded instead of hanging it.
describe('plan checkpoints: linear bookkeeping, outputs rebuilt, bounded outputs', () => {
  let h: PlanHarness;
  beforeAll(async () => {
    h = await openPlanHarness();
    // keyed: an output that tells generations apart.
    const keyed = defineTool({
      definition: { name: 'core.test.keyed', description: 'returns its idempotency key and args', category: 'test', parameters: {}, tags: [] },
      args: z.record(z.string(), z.unknown()),
      execute: async (args, context) => ({ key: context.idempotencyKey, ...args }),
    });
    await h.stack.tools.registerBuiltinTools([keyed] as BuiltinTool[]);
  });
  afterAll(() => h.close());
  const post = (path: string, body: object = {}) => h.api.post(`/api/v1/plans/runs/${path}`).send(body);
  /** A checkpoint with its outputs, once its bookkeeping is written (404 until then). */
  const checkpoint = async (runId: string, id: string) =>
    (await eventually(() => h.api.get(`/api/v1/plans/runs/${runId}/checkpoints/${encodeURIComponent(id)}`), (res) => res.status === 200)).body as RunBody;
  /** The run once it has ended and its row says so (polling the row: the workflow's state of a long run is large). */
  const ended = async (runId: string, timeoutMs = 30_000) => {
    await eventually(() => h.stack.prisma.planRun.findUniqueOrThrow({ where: { id: runId }, select: { status: true } }), (r) => (TERMINAL_RUN_STATUSES as readonly string[]).includes(r.status), timeoutMs);
    return h.run(runId);
  };
  const storedBytes = async (runId: string) => {
    const [row] = await h.stack.prisma.$queryRaw<{ total: bigint; largest: number; rows: bigint }[]>`
      SELECT sum(octet_length(outputs::text))::bigint AS total, max(octet_length(outputs::text)) AS largest, count(*)::bigint AS rows FROM plan_checkpoints WHERE run_id = ${runId}`;
    return { total: Number(row!.total), largest: row!.largest, rows: Number(row!.rows) };
  };
  /** The outputs of the completed steps among the first `position` of `order`. */
  const outputsAt = (run: RunBody, position: number) =>
    Object.fromEntries((run.state.order as string[]).slice(0, position).filter((id) => run.steps[id].status === 'completed').map((id) => [id, run.steps[id].output]));

  test('300 steps with 1 KB outputs complete across continue-as-new; checkpoint rows grow linearly and rebuild the outputs at any position', async () => {
    const n = 300;
    const steps: Record<string, unknown>[] = Array.from({ length: n }, (_, i) => ({ id: `s${i}`, kind: 'tool', tool: 'core.test.keyed', args: { pad: 'x'.repeat(1000) } }));
    // Started last (steps start in definition order), after two continue-as-new: reads the first output.
    steps.push({ id: 'tail', kind: 'tool', tool: 'core.test.log', args: { first: `{{ steps.s0.output.key }}` }, dependsOn: ['s0', `s${n - 1}`] });
    const id = await h.createPlan({ name: 'wide', concurrency: 32, continueAsNewAfter: 120, steps });
    const runId = await h.execute(id);
    const run = await ended(runId, 240_000);
    expect(run.status).toBe('completed');
    expect(run.state.completedSteps).toBe(n + 1);
    expect(run.steps.tail.output).toEqual({ first: `${runId}/s0/0` });
    const history = await h.stack.client.workflow.getHandle(runId).fetchHistory();
    expect(history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId).toBeTruthy();

    // One row a step, each holding that step's output alone: linear, where every output so far
    // in every row came to n²/2 outputs (≈ 50 MB here).
    const outputBytes = Object.values(run.steps as Record<string, { output: unknown }>).reduce((sum, s) => sum + JSON.stringify(s.output).length, 0);
    const stored = await storedBytes(runId);
    console.log(`checkpoints of ${n + 1} steps: ${stored.rows} rows, ${stored.total} bytes (largest ${stored.largest}); outputs ${outputBytes} bytes`);
    expect(stored.rows).toBe(n + 1);
    expect(stored.largest).toBeLessThan(2000);
    expect(stored.total).toBeLessThan(outputBytes + (n + 1) * 200);

    // GET of the run lists its checkpoints; a checkpoint's outputs are rebuilt from the rows before it.
    expect(run.checkpoints.map((c: { position: number }) => c.position).sort((a: number, b: number) => a - b)).toEqual(Array.from({ length: n + 1 }, (_, i) => i + 1));
    expect(run.state.checkpoints).toHaveLength(n + 1);
    for (const position of [1, 150, n + 1]) {
      const ref = run.state.checkpoints.find((c: { position: number }) => c.position === position);
      const cp = await checkpoint(runId, ref.id);
      expect(cp).toMatchObject({ id: ref.id, name: null, position });
      expect(cp.outputs).toEqual(outputsAt(run, position));
    }
    await h.api.get(`/api/v1/plans/runs/${runId}/checkpoints/nope`).expect(404);
  }, 300_000);

  test('rollback to a mid checkpoint keeps the outputs before it; checkpoints after the re-run rebuild from the kept rows, not the undone ones', async () => {
    const keyed = (sid: string, after?: string) => ({ id: sid, kind: 'tool', tool: 'core.test.keyed', args: { pad: sid.repeat(100) }, ...(after ? { dependsOn: [after] } : {}) });
    const id = await h.createPlan({
      name: 'rollback-mid',
      steps: [keyed('a'), keyed('b', 'a'), keyed('c', 'b'), { id: 'slow', kind: 'tool', tool: 'core.wait', args: { ms: 600 }, dependsOn: ['c'] }, keyed('d', 'slow'), keyed('e', 'd')],
    });
    const runId = await h.execute(id);
    await h.waitFor(runId, (r) => r.steps.slow?.status === 'running');
    await post(`${runId}/pause`).expect(200);
    const paused = await h.waitFor(runId, (r) => r.steps.slow.status === 'completed');
    const named = (await post(`${runId}/checkpoint`, { name: 'after-slow' }).expect(201)).body;
    const mid = paused.state.checkpoints.find((c: { position: number }) => c.position === 2);
    const rolled = (await post(`${runId}/rollback`, { checkpointId: mid.id }).expect(200)).body;
    expect(rolled).toMatchObject({ status: 'paused', order: ['a', 'b'], steps: { c: { status: 'pending', generation: 1 } } });
    expect(rolled.steps.c.output).toBeUndefined();

    const atMid = await checkpoint(runId, mid.id);
    expect(atMid.outputs).toEqual(outputsAt(paused, 2));
    expect(Object.keys(atMid.outputs)).toEqual(['a', 'b']);
    // The undone checkpoint still answers what the run had then.
    expect((await checkpoint(runId, named.id)).outputs).toEqual(outputsAt(paused, 4));

    await post(`${runId}/resume`).expect(200);
    const done = await ended(runId);
    expect(done.status).toBe('completed');
    const last = done.state.checkpoints.find((c: { position: number }) => c.position === 6);
    const final = await checkpoint(runId, last.id);
    expect(final.outputs).toEqual(outputsAt(done, 6));
    expect(final.outputs.a.key).toBe(`${runId}/a/0`);
    expect(final.outputs.c.key).toBe(`${runId}/c/1`);
    // GET lists only checkpoints the run can still go back to: the undone ones are not among them.
    const listed = (await h.run(runId)).checkpoints.map((c: { id: string }) => c.id);
    expect(listed).toEqual(done.state.checkpoints.map((c: { id: string }) => c.id));
    expect(listed).not.toContain(named.id);
  });

  test('rows in the older format (every output so far) are read as they are, also under newer rows', async () => {
    const id = await h.createPlan({ name: 'legacy', steps: [{ id: 'only', kind: 'tool', tool: 'core.test.log', args: {} }] });
    const runId = await h.execute(id);
    await ended(runId);
    await h.stack.prisma.planCheckpoint.createMany({
      data: [
        { id: `${runId}:old:1`, runId, position: 1, outputs: { a: { n: 1 } } },
        { id: `${runId}:old:2`, runId, position: 2, outputs: { a: { n: 1 }, b: { n: 2 } } },
        // Written by a newer worker that took the run over.
        { id: `${runId}:new:3`, runId, position: 3, outputs: { $since: `${runId}:old:2`, $outputs: { c: { n: 3 } } } },
      ],
    });
    expect((await checkpoint(runId, `${runId}:old:2`)).outputs).toEqual({ a: { n: 1 }, b: { n: 2 } });
    expect((await checkpoint(runId, `${runId}:new:3`)).outputs).toEqual({ a: { n: 1 }, b: { n: 2 }, c: { n: 3 } });
  });

  test('outputs past the run limit fail the run with OUTPUT_LIMIT (even under onFailure continue); large bookkeeping stays out of tool inputs', async () => {
    const big = (sid: string, after?: string) => ({ id: sid, kind: 'tool', tool: 'core.test.bytes', args: { bytes: 400_000 }, ...(after ? { dependsOn: [after] } : {}) });
    const id = await h.createPlan({ name: 'too-big', onFailure: 'continue', steps: [big('b1'), big('b2', 'b1'), big('b3', 'b2'), big('b4', 'b3')] });
    const runId = await h.execute(id);
    const run = await ended(runId, 60_000);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/^step b3 failed: its output \(400011 bytes\) would take this run's step outputs to 1200033 bytes, past its limit of 1048576 bytes \(MAX_RUN_OUTPUT_BYTES/);
    expect(run.steps).toMatchObject({ b1: { status: 'completed' }, b2: { status: 'completed' }, b3: { status: 'failed' }, b4: { status: 'pending' } });
    // Each step's bookkeeping (its 400 KB output twice: history row and checkpoint) was written
    // apart, not in the next tool's input.
    const history = await h.stack.client.workflow.getHandle(runId).fetchHistory();
    const inputs = (history.events ?? []).flatMap((e) => e.activityTaskScheduledEventAttributes?.input?.payloads ?? []).map((p) => p.data?.length ?? 0);
    expect(inputs.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...inputs)).toBeLessThan(10_000);
  }, 90_000);
});
