import { freePort } from '../platform/local/ports';
import { newId } from '../platform/ids';
import { startAppProcess, type AppProcess } from './support/app-process';
import { stackInfo } from './support/stack-info';
import { openTestStack, type TestStack } from './support/test-stack';
import { eventually } from './support/wait';

const FOUR_MINUTES = 240_000;

// SIGTERM is bounded by SHUTDOWN_TIMEOUT_MS: work that would outlast it is cut off (the request's
// connection closed, the activity cancelled and left for Temporal to retry) and both processes
// still exit 0, long before that work could have finished.
describe('graceful shutdown is bounded', () => {
  let stack: TestStack;
  let api: AppProcess;
  let worker: AppProcess;
  let apiUrl: string;
  const adminKey = `bound-admin-${newId(20)}`;
  const auth = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };

  beforeAll(async () => {
    stack = await openTestStack();
    const apiPort = await freePort();
    const env = {
      DATABASE_URL: stackInfo().databaseUrl,
      TEMPORAL_ADDRESS: stackInfo().temporalAddress,
      TEMPORAL_TASK_QUEUE: stack.taskQueue,
      API_PORT: String(apiPort),
      WORKER_METRICS_PORT: '0',
      OWNPILOT_ADMIN_KEY: adminKey,
      SHUTDOWN_TIMEOUT_MS: '2000',
      LOG_LEVEL: 'debug',
    };
    [worker, api] = await Promise.all([startAppProcess('workers/main.ts', env, 'worker ready'), startAppProcess('api/main.ts', env, 'api ready')]);
    apiUrl = `http://127.0.0.1:${apiPort}`;
  });
  afterAll(async () => {
    for (const p of [api, worker]) if (p && p.child.exitCode === null) p.child.kill('SIGKILL');
    await stack.close();
  });

  test('a four-minute request and a four-minute activity do not hold SIGTERM: both processes exit 0 after cutting them off', async () => {
    const created = await fetch(`${apiUrl}/api/v1/plans`, {
      method: 'POST', headers: auth,
      body: JSON.stringify({ name: 'too slow to drain', steps: [{ id: 'long', kind: 'tool', tool: 'core.wait', args: { ms: FOUR_MINUTES } }] }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const { runId } = (await (await fetch(`${apiUrl}/api/v1/plans/${id}/execute`, { method: 'POST', headers: auth, body: '{}' })).json()) as { runId: string };
    const stepLog = (msg: string) => worker.output().split('\n').find((l) => l.includes('"stepId":"long"') && l.includes(`"msg":"${msg}"`));
    await eventually(async () => stepLog('activity started'), Boolean);

    const requestId = `bound-${newId(8)}`;
    const slow = fetch(`${apiUrl}/api/v1/tools/core.wait/execute`, {
      method: 'POST', headers: { ...auth, 'x-request-id': requestId }, body: JSON.stringify({ args: { ms: FOUR_MINUTES } }),
    }).then((res) => ({ status: res.status }), (error: Error) => ({ error: error.message }));
    await eventually(async () => api.output(), (text) => text.includes(`"requestId":"${requestId}","method":"POST","msg":"request started"`));

    api.child.kill('SIGTERM');
    worker.child.kill('SIGTERM');
    // Both exit (well before four minutes), and cleanly.
    expect(await api.exited).toBe(0);
    expect(await worker.exited).toBe(0);
    expect(await slow).toEqual({ error: expect.any(String) });
    expect(api.output()).toContain('"msg":"api drain timed out: closing remaining connections"');
    expect(stepLog('activity failed')).toContain('"outcome":"cancelled"');
    // The admin key sent with every request above never reached either log.
    expect(api.output() + worker.output()).not.toContain(adminKey);

    // The run is not lost: its step is retried by the next worker (here it is cancelled instead of waiting four minutes).
    const handle = stack.client.workflow.getHandle(runId);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    await stack.startWorker();
    await eventually(async () => (await stack.prisma.planHistory.count({ where: { runId, event: 'plan.step_attempt' } })), (n) => n >= 2);
    await handle.cancel();
    await eventually(async () => (await handle.describe()).status.name, (s) => s === 'CANCELLED');
  });
});
