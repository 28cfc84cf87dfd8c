import fs from 'node:fs';
import { serve, type Served } from './support/serve';
import os from 'node:os';
import path from 'node:path';
import { createTestKey, testKeyService } from './support/api-auth';
import { spawn } from 'node:child_process';
import { OWNPILOT_BIN, ownpilot } from './support/cli-process';
import { openTestStack, type TestStack } from './support/test-stack';
import { stackApp } from './support/tool-test-app';


describe('ownpilot CLI', () => {
  let stack: TestStack;
  let served: Served;
  let env: Record<string, string>;

  beforeAll(async () => {
    stack = await openTestStack();
    await stack.startWorker();
    const app = stackApp(stack, { health: { postgres: async () => undefined, temporal: async () => undefined } });
    served = await serve(app);
    env = {
      OWNPILOT_URL: served.url,
      OWNPILOT_CONFIG: path.join(os.tmpdir(), 'no-such-ownpilot-config.json'),
      OWNPILOT_API_KEY: await createTestKey(testKeyService(stack.prisma), 'user:cli'),
    };
  });
  afterAll(async () => {
    await served.close();
    await stack.close();
  });

  test('creates a plan from a file, executes it and follows the run to completion', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cli-')), 'plan.json');
    fs.writeFileSync(file, JSON.stringify({ name: 'cli plan', steps: [
      { id: 'first', kind: 'tool', tool: 'core.echo', args: { a: 1 } },
      { id: 'second', kind: 'tool', tool: 'core.math', args: { op: 'mul', values: [6, 7] }, dependsOn: ['first'], compensation: { tool: 'core.echo', args: {} } },
      { id: 'pause', kind: 'wait', duration: 1, dependsOn: ['second'] },
    ] }));
    const created = await ownpilot(['plans', 'create', file, '--json'], env);
    expect(created.code).toBe(0);
    const { id } = JSON.parse(created.stdout) as { id: string };

    const followed = await ownpilot(['plans', 'execute', id, '--follow'], env);
    expect(followed.stderr).toBe('');
    expect(followed.code).toBe(0);
    expect(followed.stdout).toContain(`following plan-${id}-1`);
    expect(followed.stdout).toContain(`/namespaces/default/workflows/plan-${id}-1`);
    expect(followed.stdout).toMatch(/run completed \(3\/3 steps\)/);
    expect(followed.stdout).toMatch(/✔ first\s+completed/);
    expect(followed.stdout).toMatch(/✔ second\s+completed/);

    const run = await ownpilot(['runs', 'get', `plan-${id}-1`, '--json'], env);
    expect(JSON.parse(run.stdout)).toMatchObject({ id: `plan-${id}-1`, status: 'completed' });

    // People get the plan as a step table; scripts the plan as the API answers it.
    const shown = (await ownpilot(['plans', 'get', id], env)).stdout.split('\n');
    expect(shown.slice(0, 4)).toEqual([`plan ${id}  cli plan  v1`, 'on failure fail, 4 steps at once, at most 10 runs at once', expect.stringMatching(/^created by user:cli, updated \d{4}-/), `latest run plan-${id}-1 completed`]);
    expect(shown[4]).toMatch(/^STEP\s+KIND\s+WHAT\s+AFTER\s+UNDO$/);
    expect(shown.slice(5, 8).map((l) => l.split(/\s{2,}/))).toEqual([['first', 'tool', 'core.echo'], ['second', 'tool', 'core.math', 'first', 'core.echo'], ['pause', 'wait', '1 ms', 'second']]);
    expect(JSON.parse((await ownpilot(['plans', 'get', id, '--json'], env)).stdout)).toMatchObject({ id, definition: { steps: [{ id: 'first' }, { id: 'second' }, { id: 'pause' }] } });
  });

  test('errors are one line on stderr with a non-zero exit', async () => {
    const missing = await ownpilot(['plans', 'get', 'nope'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe("ownpilot: NOT_FOUND: plan 'nope' does not exist\n");

    const anonymous = await ownpilot(['plans', 'get', 'x'], { ...env, OWNPILOT_API_KEY: '' });
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toMatch(/^ownpilot: UNAUTHENTICATED: .+\n$/);

    const unreachable = await ownpilot(['plans', 'get', 'x'], { ...env, OWNPILOT_URL: 'http://127.0.0.1:1' });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/^ownpilot: cannot reach the API at http:\/\/127\.0\.0\.1:1: .+\n$/);

    // A request the API's schema refuses names each issue, still on one line.
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cli-')), 'bad-plan.json');
    fs.writeFileSync(file, JSON.stringify({ name: '', steps: [{ id: 'a', kind: 'tool' }] }));
    const invalid = await ownpilot(['plans', 'create', file], env);
    expect({ code: invalid.code, stderr: invalid.stderr }).toEqual({ code: 1, stderr: 'ownpilot: VALIDATION_FAILED: request is invalid: steps.0.tool: Invalid input: expected string, received undefined; name: Too small: expected string to have >=1 characters\n' });

    const usage = await ownpilot(['plans', 'frobnicate'], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^ownpilot: unknown command 'plans frobnicate'\nusage:/);
  });

  test('a reader that stops reading (`| head`) ends the command quietly, without an EPIPE stack trace', async () => {
    const child = spawn(process.execPath, [OWNPILOT_BIN, 'tools', 'list', '--json'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // as `head` does once it has its lines
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
