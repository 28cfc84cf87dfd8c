import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestKey, testKeyService } from './support/api-auth';
import { ownpilot } from './support/cli-process';
import { testPluginManifest } from './support/plugin-fixtures';
import { serve, type Served } from './support/serve';
import { openTestStack, type TestStack } from './support/test-stack';
import { buildTriggerApp } from './support/trigger-app';
import { eventually } from './support/wait';

// The CLI's plugin config and storage, event history and trigger backfill commands, against the real API and worker.
describe('ownpilot CLI: plugin config and storage, events history, triggers backfill', () => {
  let stack: TestStack;
  let served: Served;
  let admin: Record<string, string>;
  let keyOf: (principal: string) => Promise<Record<string, string>>;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-plugin-data-'));
  const file = (name: string, content: unknown) => {
    const at = path.join(dir, name);
    fs.writeFileSync(at, JSON.stringify(content));
    return at;
  };
  /** Exit code and stderr, the parts an error path is about. */
  const failure = ({ code, stderr }: { code: number | null; stderr: string }) => ({ code, stderr });

  beforeAll(async () => {
    stack = await openTestStack();
    await stack.startWorker();
    served = await serve((await buildTriggerApp(stack)).app);
    keyOf = async (principal) => ({ OWNPILOT_URL: served.url, OWNPILOT_API_KEY: await createTestKey(testKeyService(stack.prisma), principal), OWNPILOT_CONFIG: path.join(dir, 'none.json') });
    admin = await keyOf('admin');
  });
  afterAll(async () => {
    await served.close();
    await stack.close();
  });

  test('plugin config: read and replace as admin; the manifest\'s schema and other principals are refused', async () => {
    const id = `cli_cfg_${Date.now().toString(36)}`;
    const { workflowId } = JSON.parse((await ownpilot(['plugins', 'install', file('plugin.json', testPluginManifest(id)), '--json'], admin)).stdout) as { workflowId: string };
    await stack.client.workflow.getHandle(workflowId).result();

    expect((await ownpilot(['plugins', 'config', id], admin)).stdout).toBe('level  1\n');
    expect((await ownpilot(['plugins', 'set-config', id, file('config.json', { level: 3 })], admin)).stdout).toBe('level  3\n');
    expect(JSON.parse((await ownpilot(['plugins', 'config', id, '--json'], admin)).stdout)).toEqual({ level: 3 });

    const invalid = await ownpilot(['plugins', 'set-config', id, file('bad-config.json', { level: 0 })], admin);
    expect(failure(invalid)).toEqual({ code: 1, stderr: expect.stringMatching(new RegExp(`^ownpilot: UNPROCESSABLE: config does not match the schema of '${id}': /level: .+\\n$`)) });
    const unreadable = await ownpilot(['plugins', 'set-config', id, path.join(dir, 'nope.json')], admin);
    expect(failure(unreadable)).toEqual({ code: 1, stderr: `ownpilot: cannot read ${path.join(dir, 'nope.json')}: ENOENT\n` });
    // A user may read a plugin but not its config (which may hold credentials), nor change it.
    const user = await keyOf('user:frank');
    expect(failure(await ownpilot(['plugins', 'config', id], user))).toEqual({ code: 1, stderr: `ownpilot: the API shows the config of plugin '${id}' only to admin and the plugin itself\n` });
    expect(failure(await ownpilot(['plugins', 'set-config', id, file('config.json', { level: 2 })], user))).toEqual({ code: 1, stderr: expect.stringMatching(/^ownpilot: FORBIDDEN: /) });
    expect(failure(await ownpilot(['plugins', 'config', 'nosuchplugin'], admin))).toEqual({ code: 1, stderr: "ownpilot: NOT_FOUND: plugin 'nosuchplugin' does not exist\n" });
  });

  test('plugins upgrade: a newer manifest in place, the same version refused', async () => {
    const id = `cli_up_${Date.now().toString(36)}`;
    const installed = JSON.parse((await ownpilot(['plugins', 'install', file('plugin.json', testPluginManifest(id)), '--json'], admin)).stdout) as { workflowId: string };
    await stack.client.workflow.getHandle(installed.workflowId).result();
    const next = file('plugin-2.json', testPluginManifest(id, { version: '2.0.0' }));
    const started = JSON.parse((await ownpilot(['plugins', 'upgrade', id, next, '--json'], admin)).stdout) as { workflowId: string; fromVersion: string; toVersion: string };
    expect(started).toMatchObject({ workflowId: `plugin-upgrade-${id}-2.0.0`, fromVersion: '1.0.0', toVersion: '2.0.0' });
    await stack.client.workflow.getHandle(started.workflowId).result();
    expect(failure(await ownpilot(['plugins', 'upgrade', id, next], admin))).toEqual({ code: 1, stderr: `ownpilot: CONFLICT: plugin '${id}' is at 2.0.0: an upgrade needs a newer version than 2.0.0\n` });

    // --config replaces the kept config, from a file or standard input; a config the new schema refuses is 422
    const refused = await ownpilot(['plugins', 'upgrade', id, file('plugin-3.json', testPluginManifest(id, { version: '3.0.0' })), '--config', file('bad-config.json', { level: 0 })], admin);
    expect(failure(refused)).toEqual({ code: 1, stderr: expect.stringMatching(/^ownpilot: UNPROCESSABLE: the given config does not match the schema of .+ 3\.0\.0/) });
    const third = JSON.parse((await ownpilot(['plugins', 'upgrade', id, file('plugin-3.json', testPluginManifest(id, { version: '3.0.0' })), '--config', file('config-3.json', { level: 3 }), '--json'], admin)).stdout) as { workflowId: string };
    await stack.client.workflow.getHandle(third.workflowId).result();
    expect(JSON.parse((await ownpilot(['plugins', 'config', id, '--json'], admin)).stdout)).toEqual({ level: 3 });
    const fourth = JSON.parse((await ownpilot(['plugins', 'upgrade', id, file('plugin-4.json', testPluginManifest(id, { version: '4.0.0' })), '--config', '-', '--json'], admin, '{"level": 4}')).stdout) as { workflowId: string };
    await stack.client.workflow.getHandle(fourth.workflowId).result();
    expect(JSON.parse((await ownpilot(['plugins', 'config', id, '--json'], admin)).stdout)).toEqual({ level: 4 });
    expect(failure(await ownpilot(['plugins', 'upgrade', id, '-', '--config', '-'], admin))).toEqual({ code: 2, stderr: 'ownpilot: <manifest.json> and --config cannot both be - (standard input)\n' });
  });

  test('plugin storage: set JSON values, get, list by prefix and page, delete, clear; the plugin\'s own key works, a user\'s does not', async () => {
    const id = `cli_kv_${Date.now().toString(36)}`;
    const { workflowId } = JSON.parse((await ownpilot(['plugins', 'install', file('kv-plugin.json', testPluginManifest(id)), '--json'], admin)).stdout) as { workflowId: string };
    await stack.client.workflow.getHandle(workflowId).result();

    expect((await ownpilot(['storage', 'set', id, 'seen/1', '{"n":1}'], admin)).stdout).toBe('key     seen/1\nstored  true\n');
    const plugin = await keyOf(`plugin:${id}`);
    expect((await ownpilot(['storage', 'set', id, 'seen/2', '"two"'], plugin)).code).toBe(0);
    expect((await ownpilot(['storage', 'set', id, 'other', '3'], admin)).code).toBe(0);

    expect((await ownpilot(['storage', 'get', id, 'seen/1'], plugin)).stdout).toBe('key    seen/1\nvalue  {"n":1}\n');
    expect((await ownpilot(['storage', 'list', id, '--prefix', 'seen/'], admin)).stdout).toBe('KEY     VALUE\nseen/1  {"n":1}\nseen/2  two\n');
    expect((await ownpilot(['storage', 'list', id, '--limit', '2'], admin)).stdout).toBe('KEY     VALUE\nother   3\nseen/1  {"n":1}\nmore: --offset 2\n');
    expect(JSON.parse((await ownpilot(['storage', 'list', id, '--limit', '2', '--offset', '2', '--json'], admin)).stdout)).toEqual([{ key: 'seen/2', value: 'two' }]);

    expect((await ownpilot(['storage', 'delete', id, 'seen/2'], admin)).stdout).toBe('key      seen/2\ndeleted  true\n');
    expect(failure(await ownpilot(['storage', 'get', id, 'seen/2'], admin))).toEqual({ code: 1, stderr: `ownpilot: NOT_FOUND: plugin '${id}' stores no key 'seen/2'\n` });
    expect(failure(await ownpilot(['storage', 'set', id, 'k', 'not json'], admin))).toEqual({ code: 2, stderr: 'ownpilot: <value> must be JSON (a string is quoted inside: \'"text"\')\n' });
    expect(failure(await ownpilot(['storage', 'list', id], await keyOf('user:frank')))).toEqual({ code: 1, stderr: `ownpilot: FORBIDDEN: user:frank may not use the storage of plugin '${id}'\n` });
    expect((await ownpilot(['storage', 'clear', id, '--json'], admin)).stdout).toBe('{\n  "cleared": 2\n}\n');
    expect((await ownpilot(['storage', 'list', id], admin)).stdout).toBe('(none)\n');
  });

  test('events history: filters, oldest-first pages by cursor (or offset), JSON; bad filters say why', async () => {
    const source = `cli-history-${Date.now()}`;
    for (let n = 0; n < 3; n++) await stack.bus.emitAsync('agent.completed', { agentId: source, n }, source, { until: 'committed' });
    await stack.bus.emitAsync('agent.failed', { agentId: source }, source, { until: 'committed' });

    const newest = (await ownpilot(['events', 'history', '--source', source, '--type', 'agent.completed', '--from', '10m'], admin)).stdout.split('\n');
    expect(newest.map((l) => l.split(/\s+/).slice(1, 3).join(' ')).filter(Boolean)).toEqual(Array(3).fill(`agent.completed ${source}`));
    const data = (lines: string[]) => lines.filter((l) => l.includes('{')).map((l) => JSON.parse(l.slice(l.indexOf('{'))) as unknown);
    expect(data(newest)).toEqual([2, 1, 0].map((n) => ({ agentId: source, n })));

    const first = (await ownpilot(['events', 'history', '--source', source, '--order', 'asc', '--limit', '2'], admin)).stdout.split('\n');
    expect(data(first)).toEqual([0, 1].map((n) => ({ agentId: source, n })));
    const more = first[2]!;
    expect(more).toMatch(/^more: --cursor 'asc\|\S+\|\S+' \(with the same filters\)$/);
    const cursor = more.split("'")[1]!;
    const rest = JSON.parse((await ownpilot(['events', 'history', '--source', source, '--order', 'asc', '--limit', '2', '--cursor', cursor, '--json'], admin)).stdout) as { items: { type: string }[]; nextCursor: string | null };
    expect(rest.items.map((e) => e.type)).toEqual(['agent.completed', 'agent.failed']);
    expect(rest.nextCursor).not.toBeNull();
    const byOffset = JSON.parse((await ownpilot(['events', 'history', '--source', source, '--order', 'asc', '--limit', '2', '--offset', '2', '--json'], admin)).stdout) as { items: { type: string }[] };
    expect(byOffset.items).toEqual(rest.items);
    expect((await ownpilot(['events', 'history', '--source', source, '--category', 'plan'], admin)).stdout).toBe('(none)\n');

    expect(failure(await ownpilot(['events', 'history', '--from', 'yesterday'], admin))).toEqual({ code: 2, stderr: 'ownpilot: --from must be a duration such as 10m or 2h, or an ISO 8601 time\n' });
    expect(failure(await ownpilot(['events', 'history', '--offset', '1.5'], admin))).toEqual({ code: 2, stderr: 'ownpilot: --offset must be a whole number\n' });
    expect(failure(await ownpilot(['events', 'history', '--from', '1m', '--to', '2h'], admin))).toEqual({ code: 1, stderr: 'ownpilot: VALIDATION_FAILED: request is invalid: from: `from` must not be after `to`\n' });
    expect(failure(await ownpilot(['events', 'history', '--category', 'weather'], admin))).toEqual({ code: 1, stderr: expect.stringMatching(/^ownpilot: VALIDATION_FAILED: request is invalid: category: .+\n$/) });
  });

  test('triggers backfill runs a schedule over a past window; bad times and policies are usage errors, the API\'s refusals one line', async () => {
    const trigger = JSON.parse((await ownpilot(['triggers', 'create', file('daily.json', {
      name: 'cli daily', type: 'schedule', config: { cron: '17 3 * * *', overlap: 'skip' }, action: { kind: 'tool', tool: 'core.echo', args: {} },
    }), '--json'], admin)).stdout) as { id: string };
    // Two days back: the two 03:17 firings in it, whatever the time now.
    const started = await ownpilot(['triggers', 'backfill', trigger.id, '--start', '2d', '--end', '1s', '--overlap', 'allow_all'], admin);
    expect(started.stderr).toBe('');
    expect(started.stdout).toMatch(new RegExp(`^triggerId\\s+${trigger.id}\\nstart\\s+\\d{4}-\\S+Z\\nend\\s+\\d{4}-\\S+Z\\n$`));
    const history = async () => (JSON.parse((await ownpilot(['triggers', 'history', trigger.id, '--json'], admin)).stdout) as { items: { status: string }[] }).items;
    expect(await eventually(history, (items) => items.filter((i) => i.status === 'succeeded').length === 2)).toHaveLength(2);

    const usage = async (args: string[]) => failure(await ownpilot(['triggers', 'backfill', trigger.id, ...args], admin));
    expect(await usage(['--start', 'last week', '--end', '1h'])).toEqual({ code: 2, stderr: 'ownpilot: --start must be a duration such as 10m or 2h, or an ISO 8601 time\n' });
    expect(await usage(['--start', '2h'])).toEqual({ code: 2, stderr: expect.stringMatching(/^ownpilot: backfill needs --start and --end \(ISO 8601 times, or durations ago such as 2h\)\nusage:/) });
    expect(await usage(['--start', '2h', '--end', '1h', '--overlap', 'sometimes'])).toEqual({ code: 2, stderr: 'ownpilot: --overlap must be one of skip, buffer_one, buffer_all, cancel_other, terminate_other, allow_all\n' });
    expect(await usage(['--start', '1h', '--end', '2h'])).toEqual({ code: 1, stderr: 'ownpilot: VALIDATION_FAILED: request is invalid: start must be before end\n' });
    expect(await usage(['--start', '1h', '--end', '2099-01-01'])).toEqual({ code: 1, stderr: expect.stringMatching(/^ownpilot: VALIDATION_FAILED: request is invalid: end: a backfill covers at most 31 days\n$/) });
    expect(await usage(['--start', '2h', '--end', new Date(Date.now() + 86_400_000).toISOString()])).toEqual({ code: 1, stderr: 'ownpilot: UNPROCESSABLE: a backfill covers the past: end is in the future\n' });
    expect(failure(await ownpilot(['triggers', 'backfill', 'nosuchtrigger', '--start', '2h', '--end', '1h'], admin))).toEqual({ code: 1, stderr: expect.stringMatching(/^ownpilot: NOT_FOUND: .*nosuchtrigger/) });
    await ownpilot(['triggers', 'delete', trigger.id], admin);
  });
});
