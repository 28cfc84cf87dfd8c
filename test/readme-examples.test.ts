import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { serve, type Served } from './support/serve';
import path from 'node:path';
import { promisify } from 'node:util';
import { createTestKey, testKeyService } from './support/api-auth';
import { openTestStack, type TestStack } from './support/test-stack';
import { buildTriggerApp } from './support/trigger-app';
import { eventually } from './support/wait';

const execFileAsync = promisify(execFile);
const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');

/** The shell commands of the first ```sh block after `marker`: one per command, continuation lines joined; lines setting KEY dropped (the test sets it). */
function commandsAfter(marker: string): string[] {
  const from = readme.indexOf(marker);
  if (from < 0) throw new Error(`README no longer has '${marker}'`);
  const start = readme.indexOf('```sh\n', from) + '```sh\n'.length;
  const block = readme.slice(start, readme.indexOf('\n```', start));
  const commands: string[] = [];
  for (const line of block.split('\n')) {
    const previous = commands.at(-1);
    // A line continues the command before it after a trailing backslash or inside an open quote.
    if (previous !== undefined && (previous.endsWith('\\') || (previous.split("'").length - 1) % 2 === 1)) commands[commands.length - 1] = `${previous}\n${line}`;
    else if (line.trim() !== '' && !/^(export )?KEY=/.test(line)) commands.push(line);
  }
  return commands;
}

// README's curl examples as a user pastes them, against the real API on a real stack: each must
// answer 2xx. `<id>` stands for the id the first answer of the block carried.
describe('README examples', () => {
  let stack: TestStack;
  let served: Served;
  let address: string;
  let key: string;

  beforeAll(async () => {
    stack = await openTestStack();
    await stack.startWorker();
    // Every router, triggers and webhooks included, as api/main.ts builds them.
    const { app } = await buildTriggerApp(stack);
    served = await serve(app);
    address = served.url.replace('http://', '');
    key = await createTestKey(testKeyService(stack.prisma), 'admin');
  });
  afterAll(async () => {
    await served.close();
    await stack.close();
  });

  /** Runs the block's commands in order (curl failing on any 4xx/5xx); resolves with each one's output. */
  async function runBlock(marker: string, env: Record<string, string> = {}): Promise<string[]> {
    const outputs: string[] = [];
    let id: string | undefined;
    // Variables the block sets (AUTH=..., ts=...) hold for the commands after them.
    let prelude = '';
    for (const command of commandsAfter(marker)) {
      if (/^[A-Za-z_]+=/.test(command)) {
        prelude += `${command}\n`;
        continue;
      }
      const script = prelude + command.replaceAll('localhost:3000', address).replace(/\bcurl /g, 'curl -sS --fail-with-body ').replaceAll('<id>', id ?? '<id>');
      const { stdout } = await execFileAsync('bash', ['-euo', 'pipefail', '-c', script], { env: { ...process.env, KEY: key, ...env } }).catch((error: { stdout?: string; stderr?: string }) => {
        throw new Error(`README command failed: ${command}\n${error.stderr ?? ''}${error.stdout ?? ''}`);
      });
      outputs.push(stdout);
      if (stdout !== '') id ??= (JSON.parse(stdout) as { id?: string }).id;
    }
    return outputs;
  }

  test('quick start: create a plan, execute it, read its run', async () => {
    const [created, started] = await runBlock('Try it:');
    const { id } = JSON.parse(created!) as { id: string };
    expect(JSON.parse(started!)).toMatchObject({ runId: `plan-${id}-1` });
    const run = await eventually(async () => (await stack.prisma.planRun.findUnique({ where: { id: `plan-${id}-1` } }))?.output, (output) => output !== null && output !== undefined);
    expect(run).toEqual({ hello: { msg: 'hi' }, sum: { result: 6 } });
  });

  test('tools: search, create a custom tool, run it, create a task', async () => {
    try {
      const outputs = await runBlock('A custom tool belongs to a user');
      expect(JSON.parse(outputs[2]!)).toMatchObject({ status: 'completed', output: { value: 42 } });
      expect(JSON.parse(outputs[3]!)).toMatchObject({ title: 'call Ada' });
    } finally {
      const tool = await stack.prisma.customTool.findFirst({ where: { name: 'double' } });
      if (tool) await stack.tools.deleteCustomTool(tool.id, 'admin');
    }
  });

  test('webhooks: a signed delivery starts its trigger run', async () => {
    const admin = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const created = await fetch(`http://${address}/api/v1/triggers`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'readme hook', type: 'webhook', action: { kind: 'tool', tool: 'core.echo', args: { id: '{{payload.order.id}}' } } }) });
    expect(created.status).toBe(201);
    const trigger = (await created.json()) as { id: string; webhookSecret: string };
    const [answer] = await runBlock('passed as `payload`; anything else is passed as text.', { TRIGGER: trigger.id, SECRET: trigger.webhookSecret });
    const { runId } = JSON.parse(answer!) as { runId: string };
    expect(runId).toMatch(new RegExp(`^trigger-${trigger.id}-wh-[0-9a-f]{32}$`));
    expect(await stack.client.workflow.getHandle(runId).result()).toMatchObject({ status: 'succeeded', output: { id: 42 } });
  });

  test('API keys: create, list, revoke', async () => {
    const [created, listed] = await runBlock('create another one.');
    const { id } = JSON.parse(created!) as { id: string };
    expect((JSON.parse(listed!) as { keys: { id: string }[] }).keys.map((k) => k.id)).toContain(id);
    expect((await stack.prisma.apiKey.findUnique({ where: { id } }))?.revokedAt).toBeInstanceOf(Date);
  });
});
