import { spawn } from 'node:child_process';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { freePort } from '../platform/local/ports';
import { workerPolls } from '../platform/task-queue-pollers';
import { newId } from '../platform/ids';
import { stackInfo } from './support/stack-info';
import { eventually } from './support/wait';

// `npm start` as a user runs it, pointed at the run's Temporal and PostgreSQL (so no second
// server starts): it reports ready once its worker polls, serves a plan end to end, and stops
// cleanly on SIGTERM.
describe('npm start', () => {
  test('starts worker and API, is ready only once the worker polls, runs a plan, and exits 0 on SIGTERM', async () => {
    const info = stackInfo();
    const port = await freePort();
    const taskQueue = `start-e2e-${newId(6)}`;
    const adminKey = `e2e-admin-key-${newId(20)}`;
    const auth = { authorization: `Bearer ${adminKey}` };
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'scripts', 'start.ts')], {
      cwd: path.join(__dirname, '..'),
      env: {
        ...process.env,
        DATABASE_URL: info.databaseUrl,
        TEMPORAL_ADDRESS: info.temporalAddress,
        TEMPORAL_TASK_QUEUE: taskQueue,
        API_PORT: String(port),
        WORKER_METRICS_PORT: '0',
        LOG_LEVEL: 'warn',
        OWNPILOT_ADMIN_KEY: adminKey,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await eventually(async () => output, (text) => /\[ownpilot\] API: /.test(text), 60_000);
      expect(output).toContain(`API:           http://127.0.0.1:${port}`);
      // The task queue is this test's own, so a poller on it is the worker npm start spawned.
      const client = new Client({ connection: await Connection.connect({ address: info.temporalAddress }), namespace: 'default' });
      try {
        const { pollers } = await client.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue }, taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW });
        expect(pollers.length).toBe(1);
        expect(await workerPolls(client, taskQueue, Number(pollers[0]!.identity!.split('@')[0]))).toBe(true);
        expect(await workerPolls(client, taskQueue, process.pid)).toBe(false);
      } finally {
        await client.connection.close();
      }
      const api = `http://127.0.0.1:${port}`;
      const created = await fetch(`${api}/api/v1/plans`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth },
        body: JSON.stringify({ name: 'via npm start', steps: [{ id: 'e', kind: 'tool', tool: 'core.echo', args: { ok: true } }] }),
      });
      expect((await fetch(`${api}/api/v1/plans/x`)).status).toBe(401);
      expect(created.status).toBe(201);
      const { id } = (await created.json()) as { id: string };
      const started = await fetch(`${api}/api/v1/plans/${id}/execute`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: '{}' });
      const { runId } = (await started.json()) as { runId: string };
      const run = await eventually(
        async () => (await (await fetch(`${api}/api/v1/plans/runs/${runId}`, { headers: auth })).json()) as { status: string },
        (body) => body.status === 'completed' || body.status === 'failed',
      );
      expect(run.status).toBe('completed');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(output).toContain('[ownpilot] stopped');
  });
});
