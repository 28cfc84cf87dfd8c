import fs from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { buildTriggerApp } from './support/trigger-app';
import { openTestStack } from './support/test-stack';

const DIR = path.join(__dirname, 'histories');
const MANIFEST = path.join(DIR, 'trigger-histories.json'); // file name → the workflow id it was recorded under
const WORKFLOWS = path.join(__dirname, '..', 'workflows', 'index.ts');

// RECORD_TRIGGER_HISTORIES=1 npx jest test/triggers-replay.test.ts records the histories not yet recorded
// (existing ones are kept: they stand for runs of older workflow code that must keep replaying).
const recording = process.env.RECORD_TRIGGER_HISTORIES === '1';

describe('trigger workflows replay deterministically over recorded histories', () => {
  (recording ? test : test.skip)('record histories', async () => {
    const stack = await openTestStack();
    try {
      await stack.startWorker();
      const t = await buildTriggerApp(stack);
      const plan = await t.api.post('/api/v1/plans').send({ name: 'p', steps: [{ id: 'a', kind: 'tool', tool: 'core.echo', args: {} }] }).expect(201);
      const make = async (body: Record<string, unknown>) => (await t.api.post('/api/v1/triggers').send({ name: 'rec', ...body }).expect(201)).body.id as string;
      const manifest = (fs.existsSync(MANIFEST) ? JSON.parse(fs.readFileSync(MANIFEST, 'utf8')) : {}) as Record<string, string>;
      const save = async (name: string, workflowId: string) => {
        if (fs.existsSync(path.join(DIR, `${name}.binpb`))) return;
        manifest[`${name}.binpb`] = workflowId;
        // Binary protobuf: historyFromJSON fails here (two protobufjs copies in node_modules).
        const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
        fs.mkdirSync(DIR, { recursive: true });
        fs.writeFileSync(path.join(DIR, `${name}.binpb`), temporal.api.history.v1.History.encode(history).finish());
      };

      const planTrigger = await make({ type: 'webhook', action: { kind: 'plan', planId: plan.body.id, input: { x: '{{payload.x}}' } } });
      const ok = await t.starter.start('rec-plan', { triggerId: planTrigger, source: 'manual', payload: { x: 1 } });
      await stack.client.workflow.getHandle(ok.runId).result();
      await save('trigger-run-plan', ok.runId);

      // No payload: `values` resolves to null, which core.math refuses when the firing runs.
      const failing = await make({ type: 'webhook', action: { kind: 'tool', tool: 'core.math', args: { op: 'add', values: '{{payload.values}}' } } });
      const bad = await t.starter.start('rec-fail', { triggerId: failing, source: 'manual' });
      await expect(stack.client.workflow.getHandle(bad.runId).result()).rejects.toBeInstanceOf(WorkflowFailedError);
      await save('trigger-run-failed', bad.runId);

      // A tool action under the heartbeat patch (TRIGGER_BEHAVIOURS.toolHeartbeat), run before stamping.
      const tool = await make({ type: 'webhook', action: { kind: 'tool', tool: 'core.echo', args: { x: '{{payload.x}}' } } });
      const called = await t.starter.start('rec-tool', { triggerId: tool, source: 'manual', payload: { x: 2 } });
      await stack.client.workflow.getHandle(called.runId).result();
      await save('trigger-run-tool-heartbeat', called.runId);
      // The same, started by a starter that stamps its behaviours: no patch marker.
      const stamped = await t.starter.start('rec-tool-stamped', { triggerId: tool, source: 'manual', payload: { x: 3 } });
      await stack.client.workflow.getHandle(stamped.runId).result();
      await save('trigger-run-tool-stamped', stamped.runId);

      const condition = await make({ type: 'condition', config: { tool: 'core.echo', args: { level: 20 }, expression: { path: 'result.level', op: 'gte', value: 10 }, intervalSeconds: 3600 }, action: { kind: 'tool', tool: 'core.echo', args: {} } });
      const checkId = `trigger-${condition}-check-rec`;
      await stack.client.workflow.execute('conditionCheckWorkflow', { taskQueue: stack.taskQueue, workflowId: checkId, args: [{ triggerId: condition }] });
      await save('condition-check-fired', checkId);
      fs.writeFileSync(MANIFEST, `${JSON.stringify(manifest, null, 2)}\n`);
    } finally {
      await stack.close();
    }
  });

  test('every recorded history replays without nondeterminism', async () => {
    const manifest = JSON.parse(fs.readFileSync(MANIFEST, 'utf8')) as Record<string, string>;
    const files = Object.keys(manifest).sort();
    expect(files).toEqual(['condition-check-fired.binpb', 'trigger-run-failed.binpb', 'trigger-run-plan.binpb', 'trigger-run-tool-heartbeat.binpb', 'trigger-run-tool-stamped.binpb']);
    const histories = files.map((f) => ({ workflowId: manifest[f]!, history: temporal.api.history.v1.History.decode(fs.readFileSync(path.join(DIR, f))) }));
    const results = [];
    for await (const result of Worker.runReplayHistories({ workflowsPath: WORKFLOWS }, histories)) results.push(result);
    expect(results.map((r) => [r.workflowId, r.error?.message])).toEqual(files.map((f) => [manifest[f], undefined]));
  });

  test('a stamped tool firing has the heartbeat without a patch marker; an unstamped one recorded the marker', () => {
    const events = (f: string) => temporal.api.history.v1.History.decode(fs.readFileSync(path.join(DIR, f))).events;
    const shape = (f: string) => {
      const all = events(f);
      return {
        patchMarkers: all.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch').length,
        heartbeatTimeouts: all.filter((e) => e.activityTaskScheduledEventAttributes?.heartbeatTimeout).length,
      };
    };
    expect(shape('trigger-run-tool-stamped.binpb')).toEqual({ patchMarkers: 0, heartbeatTimeouts: 1 });
    expect(shape('trigger-run-tool-heartbeat.binpb')).toEqual({ patchMarkers: 1, heartbeatTimeouts: 1 });
  });
});
