import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { serve, type Served } from './support/serve';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../cli/main';
import { createTestKey, testKeyService } from './support/api-auth';
import { OWNPILOT_BIN, ownpilot } from './support/cli-process';
import { buildTriggerApp } from './support/trigger-app';
import { stackApp } from './support/tool-test-app';
import { createPlanService } from '../activities/plans/plan-service';
import { pollingWorkers } from '../platform/task-queue-pollers';
import { openTestStack, type TestStack } from './support/test-stack';
import { eventually } from './support/wait';


// The CLI's trigger, plugin, event, tool and key commands, its config file, and the live run view on a terminal.
describe('ownpilot CLI: triggers, plugins, events tail, tools, keys, config file, live progress', () => {
  let stack: TestStack;
  let served: Served;
  let env: Record<string, string>;
  let t: Awaited<ReturnType<typeof buildTriggerApp>>;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-ops-'));

  beforeAll(async () => {
    stack = await openTestStack();
    await stack.startWorker();
    t = await buildTriggerApp(stack);
    served = await serve(t.app);
    // Only a config file says where the API is and which key to use (no OWNPILOT_URL / OWNPILOT_API_KEY).
    const config = path.join(dir, 'config.json');
    fs.writeFileSync(config, JSON.stringify({ url: served.url, apiKey: await createTestKey(testKeyService(stack.prisma), 'admin'), webUiUrl: 'http://temporal-ui.example:8080', namespace: 'ops' }));
    env = { OWNPILOT_CONFIG: config };
    delete process.env.OWNPILOT_URL;
    delete process.env.OWNPILOT_API_KEY;
  });
  afterAll(async () => {
    await served.close();
    await stack.close();
  });

  const fileOnly = () => env;

  test('triggers: create from a file, list as a table, disable/enable, fire with a payload, history as JSON', async () => {
    const file = path.join(dir, 'trigger.json');
    fs.writeFileSync(file, JSON.stringify({ name: 'cli hook', type: 'webhook', action: { kind: 'tool', tool: 'core.echo', args: { got: '{{payload.n}}' } } }));
    const created = await ownpilot(['triggers', 'create', file, '--json'], fileOnly());
    expect(created.stderr).toBe('');
    const { id, webhookSecret } = JSON.parse(created.stdout) as { id: string; webhookSecret: string };
    expect(webhookSecret).toMatch(/^whsec_/);

    const listed = await ownpilot(['triggers', 'list'], fileOnly());
    expect(listed.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+TYPE\s+ISENABLED\s+UPDATEDAT$/);
    expect(listed.stdout).toMatch(new RegExp(`${id}\\s+cli hook\\s+webhook\\s+true`));

    expect((await ownpilot(['triggers', 'disable', id], fileOnly())).stdout).toMatch(/isEnabled\s+false/);
    const refused = await ownpilot(['triggers', 'fire', id], fileOnly());
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^ownpilot: INVALID_STATE: .*disabled\n$/);
    expect((await ownpilot(['triggers', 'enable', id], fileOnly())).stdout).toMatch(/isEnabled\s+true/);

    const fired = await ownpilot(['triggers', 'fire', id, '--payload', '{"n":7}', '--json'], fileOnly());
    const { runId } = JSON.parse(fired.stdout) as { runId: string };
    expect(await stack.client.workflow.getHandle(runId).result()).toMatchObject({ status: 'succeeded', output: { got: 7 } });
    const history = await ownpilot(['triggers', 'history', id, '--json'], fileOnly());
    expect((JSON.parse(history.stdout) as { items: { workflowId: string; status: string }[] }).items).toEqual([expect.objectContaining({ workflowId: runId, status: 'succeeded' })]);

    const badPayload = await ownpilot(['triggers', 'fire', id, '--payload', '{nope'], fileOnly());
    expect(badPayload.code).toBe(2);
    expect(badPayload.stderr).toBe('ownpilot: --payload must be JSON\n');
  });

  test('triggers update/rotate-secret/delete and plans update/delete, each one command', async () => {
    const file = path.join(dir, 'edit-trigger.json');
    fs.writeFileSync(file, JSON.stringify({ name: 'cli edit', type: 'webhook', action: { kind: 'tool', tool: 'core.echo' } }));
    const { id, webhookSecret } = JSON.parse((await ownpilot(['triggers', 'create', file, '--json'], fileOnly())).stdout) as { id: string; webhookSecret: string };
    const patch = path.join(dir, 'trigger-patch.json');
    fs.writeFileSync(patch, JSON.stringify({ name: 'cli edited', config: { rateLimitPerMinute: 5 } }));
    const updated = await ownpilot(['triggers', 'update', id, patch], fileOnly());
    expect(updated.stderr).toBe('');
    expect(updated.stdout).toMatch(/name\s+cli edited/);
    expect(updated.stdout).toMatch(/"rateLimitPerMinute":5/);
    const rotated = await ownpilot(['triggers', 'rotate-secret', id, '--json'], fileOnly());
    const { webhookSecret: fresh } = JSON.parse(rotated.stdout) as { webhookSecret: string };
    expect(fresh).toMatch(/^whsec_/);
    expect(fresh).not.toBe(webhookSecret);
    expect((await ownpilot(['triggers', 'delete', id], fileOnly())).stdout).toMatch(/deleted\s+true/);
    expect((await ownpilot(['triggers', 'get', id], fileOnly())).stderr).toMatch(/^ownpilot: NOT_FOUND: /);
    expect((await ownpilot(['triggers', 'update', id], fileOnly())).stderr).toMatch(/^ownpilot: missing <patch\.json>/);

    const planFile = path.join(dir, 'edit-plan.json');
    fs.writeFileSync(planFile, JSON.stringify({ name: 'cli plan', steps: [{ id: 'a', kind: 'tool', tool: 'core.echo' }] }));
    const planId = (JSON.parse((await ownpilot(['plans', 'create', planFile, '--json'], fileOnly())).stdout) as { id: string }).id;
    fs.writeFileSync(patch, JSON.stringify({ steps: [{ id: 'b', kind: 'tool', tool: 'core.math', args: { op: 'add', values: [1] } }] }));
    expect((await ownpilot(['plans', 'update', planId, patch], fileOnly())).stdout).toMatch(/version\s+2/);
    expect((await ownpilot(['plans', 'delete', planId], fileOnly())).stdout).toMatch(/deleted\s+true/);
    expect((await ownpilot(['plans', 'get', planId], fileOnly())).stderr).toMatch(/^ownpilot: NOT_FOUND: /);
  });

  test('plugins list and get answer JSON and one-line errors', async () => {
    const listed = await ownpilot(['plugins', 'list', '--json'], fileOnly());
    expect(listed.code).toBe(0);
    expect(Array.isArray(JSON.parse(listed.stdout))).toBe(true);
    const missing = await ownpilot(['plugins', 'get', 'nosuchplugin'], fileOnly());
    expect(missing.stderr).toBe("ownpilot: NOT_FOUND: plugin 'nosuchplugin' does not exist\n");
  });

  test('events tail follows the live stream: filtered by type, a burst of several pages once each in order, and across an API restart', async () => {
    const child = spawn(process.execPath, [OWNPILOT_BIN, 'events', 'tail', '--type', 'agent.*'], { env: { ...process.env, ...fileOnly() }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    try {
      const marker = `tail-${Date.now()}`;
      // Emitted until the running tail prints one (it only shows events after it started).
      await eventually(async () => {
        stack.bus.emit('agent.started', { agentId: marker }, 'cli-test');
        stack.bus.emit('plugin.x.done', { agentId: marker }, 'cli-test');
        await stack.bus.flush();
        return stdout;
      }, (out) => out.includes(marker));
      const lines = stdout.trim().split('\n');
      expect(lines.every((l) => /^\S+\s+agent\.started\s+cli-test\s+\{/.test(l))).toBe(true);

      // A burst larger than a page of history: every event once, oldest first.
      const burst = `burst-${Date.now()}`;
      for (let n = 0; n < 1200; n++) stack.bus.emit('agent.started', { agentId: burst, n }, 'cli-test');
      await stack.bus.flush();
      const printed = (tag: string) => stdout.split('\n').filter((l) => l.includes(tag)).map((l) => ({ at: Date.parse(l.split(/\s+/)[0]!), n: (JSON.parse(l.slice(l.indexOf('{'))) as { n: number }).n }));
      await eventually(async () => printed(burst).length, (count) => count >= 1200, 30_000);
      expect(printed(burst).map((r) => r.n)).toEqual(Array.from({ length: 1200 }, (_, n) => n));
      expect(printed(burst).every((r, i, rows) => i === 0 || r.at >= rows[i - 1]!.at)).toBe(true);

      // The API goes away; what is emitted meanwhile is printed once it is back (Last-Event-ID), nothing twice.
      const port = Number(new URL(served.url).port);
      await served.close();
      const away = `away-${Date.now()}`;
      for (let n = 0; n < 5; n++) stack.bus.emit('agent.completed', { agentId: away, n }, 'cli-test');
      await stack.bus.flush();
      served = await serve(t.app, port);
      await eventually(async () => printed(away).length, (count) => count >= 5, 30_000);
      expect(printed(away).map((r) => r.n)).toEqual([0, 1, 2, 3, 4]);
      expect(printed(burst)).toHaveLength(1200);
    } finally {
      child.kill('SIGTERM');
    }
  });

  test('events tail --since replays the log before following; a bad --since is a usage error', async () => {
    const tag = `since-${Date.now()}`;
    for (let n = 0; n < 3; n++) await stack.bus.emitAsync('agent.failed', { agentId: tag, n }, 'cli-test', { until: 'committed' });
    const child = spawn(process.execPath, [OWNPILOT_BIN, 'events', 'tail', '--type', 'agent.failed', '--since', '1m', '--json'], { env: { ...process.env, ...fileOnly() }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    try {
      const ours = () => stdout.split('\n').filter((l) => l.includes(tag)).map((l) => (JSON.parse(l) as { data: { n: number } }).data.n);
      await eventually(async () => ours(), (ns) => ns.length >= 3);
      expect(ours()).toEqual([0, 1, 2]);
    } finally {
      child.kill('SIGTERM');
    }
    const bad = await ownpilot(['events', 'tail', '--since', 'last tuesday'], fileOnly());
    expect({ code: bad.code, stderr: bad.stderr }).toEqual({ code: 2, stderr: 'ownpilot: --since must be a duration such as 10m or 2h, or an ISO 8601 time\n' });
  });

  test('run control: pause, resume, checkpoint, reject with a comment, roll back, history, all as one command each', async () => {
    const plan = await t.api.post('/api/v1/plans').send({ name: 'controlled', steps: [
      { id: 'first', kind: 'tool', tool: 'core.echo', args: {}, compensation: { tool: 'core.echo', args: { undo: true } } },
      { id: 'gate', kind: 'approval', approvers: ['admin'], dependsOn: ['first'] },
    ] }).expect(201);
    const runOf = async () => {
      const { runId } = (await t.api.post(`/api/v1/plans/${plan.body.id}/execute`).send({}).expect(202)).body as { runId: string };
      await eventually(async () => (await t.api.get(`/api/v1/plans/runs/${runId}`)).body.steps?.gate?.status, (s) => s === 'waiting_approval');
      return runId;
    };
    const status = async (runId: string) => (await t.api.get(`/api/v1/plans/runs/${runId}`)).body.status as string;

    const a = await runOf();
    expect((await ownpilot(['runs', 'pause', a, '--json'], fileOnly())).stdout).toContain('"status": "paused"');
    // People get the run's step lines, not its state as JSON.
    const resumed = (await ownpilot(['runs', 'resume', a], fileOnly())).stdout;
    expect(resumed).toMatch(new RegExp(`^run ${a} \\(plan ${plan.body.id} v1\\)$`, 'm'));
    expect(resumed).toMatch(/^run running \(1\/2 steps\)\n {2}✔ first\s+completed\n {2}\? gate\s+waiting_approval$/m);
    const checkpoint = await ownpilot(['runs', 'checkpoint', a, '--name', 'before-gate', '--json'], fileOnly());
    expect(checkpoint.stderr).toBe('');
    const { id: checkpointId } = JSON.parse(checkpoint.stdout) as { id: string };
    const shown = (await ownpilot(['runs', 'get', a], fileOnly())).stdout;
    expect(shown).toMatch(/^started \S+ by admin$/m);
    expect(shown).toContain(`web UI http://temporal-ui.example:8080/namespaces/ops/workflows/${a}`);
    // The server's TEMPORAL_NAMESPACE, when set, names the namespace in links.
    expect((await ownpilot(['runs', 'get', a], { ...fileOnly(), TEMPORAL_NAMESPACE: 'blue' })).stdout).toContain(`/namespaces/blue/workflows/${a}`);
    expect(shown).toContain(`\ncheckpoints\n`);
    expect(shown).toContain(`  ${checkpointId}  after 1 step  before-gate\n`);
    const waiting = (await ownpilot(['runs', 'approvals'], fileOnly())).stdout;
    expect(waiting.split('\n')[0]).toMatch(/^REQUESTEDAT\s+RUNID\s+STEPID\s+PLANNAME\s+MESSAGE$/);
    expect(waiting).toMatch(new RegExp(`^\\S+\\s+${a}\\s+gate\\s+controlled`, 'm'));
    // --all (admin): every waiting step, with whom it names.
    const every = (await ownpilot(['runs', 'approvals', '--all'], fileOnly())).stdout;
    expect(every.split('\n')[0]).toMatch(/^REQUESTEDAT\s+RUNID\s+STEPID\s+PLANNAME\s+APPROVERS\s+MESSAGE$/);
    expect(every).toMatch(new RegExp(`^\\S+\\s+${a}\\s+gate\\s+controlled\\s+admin$`, 'm'));
    expect((await ownpilot(['runs', 'reject', a, 'gate', '--comment', 'not today', '--json'], fileOnly())).stdout).toContain('"status": "failed"');
    await eventually(() => status(a), (s) => s === 'failed');
    const history = (await ownpilot(['plans', 'history', plan.body.id], fileOnly())).stdout;
    expect(history.split('\n')[0]).toMatch(/^CREATEDAT\s+RUNID\s+STEPID\s+EVENT\s+STATUS$/);
    expect(history).toMatch(new RegExp(`${a}\\s+gate\\s+plan\\.step_rejected\\s+running`));
    const rejected = (await t.api.get(`/api/v1/plans/${plan.body.id}/history`)).body[0].history.find((h: { event: string }) => h.event === 'plan.step_rejected');
    expect(rejected.details).toMatchObject({ by: 'admin', comment: 'not today' });

    const b = await runOf();
    const rolledBack = await ownpilot(['runs', 'rollback', b], fileOnly());
    expect(rolledBack.code).toBe(0);
    expect(rolledBack.stdout).toMatch(/^run rolled_back /m);
    expect(rolledBack.stdout).toMatch(/^compensations \(newest step first\)\n {2}first {2}completed$/m);
    await eventually(() => status(b), (s) => s === 'rolled_back');
    // The stored run shows them too (from the state the workflow left).
    expect((await ownpilot(['runs', 'get', b], fileOnly())).stdout).toMatch(/^compensations \(newest step first\)\n {2}first {2}completed$/m);
    const wrong = await ownpilot(['runs', 'approve', b, 'gate'], fileOnly());
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^ownpilot: INVALID_STATE: .+\n$/);
  });

  test('a run a trigger started shows the trigger it came through: runs get and runs list', async () => {
    const planId = (await t.api.post('/api/v1/plans').send({ name: 'via cli', steps: [{ id: 'say', kind: 'tool', tool: 'core.echo', args: {} }] }).expect(201)).body.id as string;
    const trigger = (await t.api.post('/api/v1/triggers').send({ name: 'via cli', type: 'webhook', action: { kind: 'plan', planId } }).expect(201)).body.id as string;
    await t.api.post(`/api/v1/triggers/${trigger}/execute`).send({}).expect(202);
    const [fired] = await eventually(async () => (await t.api.get(`/api/v1/triggers/${trigger}/history`).expect(200)).body.items as { planWorkflowId: string | null }[], (rows) => typeof rows[0]?.planWorkflowId === 'string');
    const runId = fired!.planWorkflowId!;
    expect((await ownpilot(['runs', 'get', runId], fileOnly())).stdout).toMatch(new RegExp(`^started \\S+ by admin via trigger:${trigger}$`, 'm'));
    const listed = (await ownpilot(['runs', 'list', planId], fileOnly())).stdout;
    expect(listed).toMatch(/^ID\s+STATUS\s+STARTEDBY\s+VIA\s+STARTEDAT\s+FINISHEDAT$/m);
    expect(listed).toMatch(new RegExp(`^${runId}\\s+\\S+\\s+admin\\s+trigger:${trigger}\\s`, 'm'));
    await t.api.delete(`/api/v1/triggers/${trigger}`).expect(204);
  });

  test('tools: list with a search, run with JSON args, a call awaiting approval exits 1', async () => {
    const listed = await ownpilot(['tools', 'list', '--search', 'echo'], fileOnly());
    expect(listed.stdout.split('\n')[0]).toMatch(/^NAME\s+SOURCE\s+ISENABLED\s+APPROVAL\s+DESCRIPTION$/);
    expect(listed.stdout).toMatch(/^core\.echo\s+builtin\s+true\s+\S/m);
    const ran = await ownpilot(['tools', 'run', 'core.math', '--args', '{"op":"add","values":[1,2]}', '--json'], fileOnly());
    expect(ran.code).toBe(0);
    expect(JSON.parse(ran.stdout)).toMatchObject({ status: 'completed', output: { result: 3 } });
    const shown = await ownpilot(['tools', 'run', 'core.math', '--args', '{"op":"add","values":[1,2]}'], fileOnly());
    expect(shown.stdout).toMatch(/^durationMs\s+\d+(\.\d)?$/m);
    const notObject = await ownpilot(['tools', 'run', 'core.math', '--args', '[1]'], fileOnly());
    expect(notObject.code).toBe(2);
    expect(notObject.stderr).toBe('ownpilot: --args must be a JSON object\n');
    const name = `gated${Date.now()}`;
    await t.api.post('/api/v1/custom-tools').send({ name, description: 'needs a yes', userId: 'bob', parameters: { type: 'object', properties: {} }, code: 'return 1' }).expect(201);
    const gated = await ownpilot(['tools', 'run', `custom.${name}`], fileOnly());
    expect(gated.code).toBe(1);
    expect(gated.stdout).toMatch(/^status\s+approval_required$/m);
  });

  test('status: the API\'s health, exit 0 when everything answers, 1 (with the body of the 503) when a part is down', async () => {
    const up = await ownpilot(['status'], fileOnly());
    expect(up).toMatchObject({ code: 0, stdout: 'status     ok\npostgres   ok\ntemporal   ok\n' });
    const broken = await serve(stackApp(stack, { health: { postgres: async () => undefined, temporal: () => Promise.reject(new Error('connection refused')) } }));
    try {
      const down = await ownpilot(['status'], { ...fileOnly(), OWNPILOT_URL: broken.url });
      expect(down).toMatchObject({ code: 1, stdout: 'status     degraded\npostgres   ok\ntemporal   DOWN: connection refused\n' });
    } finally {
      await broken.close();
    }
  });

  test('keys: create for a principal, list, revoke; the revoked key is refused', async () => {
    const created = await ownpilot(['keys', 'create', 'ci bot', '--principal', 'user:bob', '--json'], fileOnly());
    expect(created.stderr).toBe('');
    const { id, key } = JSON.parse(created.stdout) as { id: string; key: string };
    expect((await ownpilot(['plans', 'list'], { ...fileOnly(), OWNPILOT_API_KEY: key })).code).toBe(0);
    expect((await ownpilot(['keys', 'list'], fileOnly())).stdout).toMatch(new RegExp(`^${id}\\s+ci bot\\s+user:bob\\s`, 'm'));
    expect((await ownpilot(['keys', 'revoke', id], fileOnly())).stdout).toMatch(/^revokedAt\s+\d{4}-/m);
    const refused = await ownpilot(['plans', 'list'], { ...fileOnly(), OWNPILOT_API_KEY: key });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^ownpilot: UNAUTHENTICATED: /);
    const missing = await ownpilot(['keys', 'create', 'no principal'], fileOnly());
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^ownpilot: missing --principal/);
  });

  test('following a run no worker picks up says so (from /health) instead of waiting silently', async () => {
    const taskQueue = `nobody-${stack.taskQueue}`;
    const unserved = stackApp(stack, {
      plans: createPlanService({ prisma: stack.prisma, temporal: stack.client, taskQueue, tools: stack.tools }),
      health: { postgres: async () => undefined, temporal: async () => undefined, workers: async () => (await pollingWorkers(stack.client, taskQueue)).length },
    });
    const { url, close } = await serve(unserved);
    const plan = await t.api.post('/api/v1/plans').send({ name: 'unserved', steps: [{ id: 'only', kind: 'tool', tool: 'core.echo', args: {} }] }).expect(201);
    const child = spawn(process.execPath, [OWNPILOT_BIN, 'plans', 'execute', plan.body.id, '--follow'], { env: { ...process.env, ...fileOnly(), OWNPILOT_URL: url }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    try {
      await eventually(async () => stdout, (out) => out.includes('waiting: '), 20_000);
      expect(stdout.split('\n').filter((l) => l.startsWith('waiting: '))).toEqual(['waiting: no worker polls the task queue: plan runs and triggers wait until one does']);
      // Not picked up yet, the run still shows the steps of its plan version, all pending.
      expect(stdout).toMatch(/^run pending \(0\/1 steps\)\n {4}only {2}pending$/m);
      // `ownpilot status` says the same, and exits 1 so scripts can wait on it.
      const status = await ownpilot(['status'], { ...fileOnly(), OWNPILOT_URL: url });
      expect(status).toMatchObject({ code: 1, stderr: '' });
      expect(status.stdout).toBe('status     degraded\npostgres   ok\ntemporal   ok\nworkers    DOWN: no worker polls the task queue: plan runs and triggers wait until one does\n');
    } finally {
      child.kill('SIGTERM');
      await close();
    }
  });

  test('on a terminal, following a run redraws its step lines in place, with the Web UI link', async () => {
    const plan = await t.api.post('/api/v1/plans').send({ name: 'gated', steps: [{ id: 'first', kind: 'tool', tool: 'core.echo', args: {} }, { id: 'gate', kind: 'approval', approvers: ['admin'], dependsOn: ['first'] }] }).expect(201);
    const { runId } = (await t.api.post(`/api/v1/plans/${plan.body.id}/execute`).send({}).expect(202)).body as { runId: string };
    let out = '';
    const following = runCli(['runs', 'follow', runId], fileOnly(), (text) => void (out += text), true);
    await eventually(async () => out, (o) => o.includes('waiting_approval'));
    await t.api.post(`/api/v1/plans/runs/${runId}/steps/gate/approve`).send({}).expect(200);
    expect(await following).toBe(0);
    expect(out.split('\n')[0]).toBe(`following ${runId} — http://temporal-ui.example:8080/namespaces/ops/workflows/${runId}`);
    // A redraw moves the cursor up over the previous block (3 lines: status + 2 steps) and clears it.
    expect(out).toContain('\x1b[3A\x1b[J');
    expect(out.slice(out.lastIndexOf('\x1b[J'))).toMatch(/run completed \(2\/2 steps\)\n {2}✔ first\s+completed\n {2}✔ gate\s+completed\n$/);
  });
});
