import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CORE_TOOLS } from '../../activities/tools/builtin/core-tools';
import { createEventTools } from '../../activities/tools/builtin/event-tools';
import { createQuickJsSandbox } from '../../activities/tools/sandbox/quickjs-sandbox';
import { createToolRegistry, type ToolRegistry } from '../../activities/tools/tool-registry';
import { createPrisma, type PrismaClient } from '../../platform/database';
import { newId } from '../../platform/ids';
import { createCollectingPublisher } from '../support/collecting-publisher';
import { stackInfo } from '../support/stack-info';
import { BASIC_ESCAPES, CVE_ESCAPES } from './corpora/sandbox-escapes';

// Hostile custom tools run through the real registry and sandbox; each attempt must fail with
// a clear TOOL_FAILED reason, the host must stay untouched, and the next tool must still run.
describe('custom tool sandbox: escape corpus', () => {
  let prisma: PrismaClient;
  let tools: ToolRegistry;
  const events = createCollectingPublisher();
  const owner = `owner${newId(5)}`;
  const caller = `user:${owner}`;
  const prototypeKeysBefore = Object.getOwnPropertyNames(Object.prototype).sort();

  beforeAll(async () => {
    prisma = createPrisma(stackInfo().databaseUrl, 3);
    tools = createToolRegistry({ prisma, events, defaultTimeoutMs: 400, sandboxLimits: { memoryBytes: 8 * 1024 * 1024, maxOutputBytes: 64 * 1024 } });
    await tools.ready();
    await tools.registerBuiltinTools([...CORE_TOOLS, ...createEventTools(events)]);
  });
  afterAll(async () => {
    await tools.close();
    await prisma.$disconnect();
  });

  const custom = async (code: string, allowedTools: string[] = [], userId = owner) => {
    const name = `t_${newId(8)}`;
    await tools.registerCustomTool(userId, { name, description: 'test', code, requiresApproval: false, allowedTools, parameters: { type: 'object' } });
    return `custom.${name}`;
  };
  const run = async (code: string, args: unknown = {}, allowedTools: string[] = []) => tools.execute(await custom(code, allowedTools), args, { requesterId: caller });

  const hostStillServes = async () => {
    await expect(tools.execute('core.math', { op: 'add', values: [2, 3] }, { requesterId: caller })).resolves.toEqual({ result: 5 });
    await expect(run('return args.x * 2', { x: 21 })).resolves.toBe(42);
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeysBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  };

  test.each(BASIC_ESCAPES)('%s fails cleanly and the host keeps serving', async (_label, code, expected) => {
    const failure = await run(code).then(
      () => null,
      (error: { code?: string; details?: { reason?: string }; message: string }) => error,
    );
    expect(failure).not.toBeNull();
    expect(failure!.code).toBe('TOOL_FAILED');
    if (typeof expected === 'string') expect(failure!.details?.reason).toBe(expected);
    else if (expected) expect(`${failure!.details?.reason} ${failure!.message}`).toMatch(expected);
    await hostStillServes();
  }, 30_000);

  // Public vm2 / node:vm escapes: each may fail or return plain data, but never reaches the host.
  test.each(CVE_ESCAPES)('%s never reaches the host', async (_label, template, expected) => {
    const marker = path.join(os.tmpdir(), `ownpilot-escape-${newId(8)}`);
    const rssBefore = process.memoryUsage().rss;
    const outcome = await run(template.replaceAll('{{MARKER}}', marker)).then(
      (value: unknown) => ({ resolved: JSON.stringify(value) ?? 'undefined' }),
      (error: { code?: string; details?: { reason?: string }; message: string }) => ({ code: error.code, text: `${error.details?.reason} ${error.message}` }),
    );
    expect(JSON.stringify(outcome)).not.toMatch(/ESCAPED/);
    if ('code' in outcome) expect(outcome.code).toBe('TOOL_FAILED');
    if (expected !== null) expect(outcome).toEqual({ code: 'TOOL_FAILED', text: typeof expected === 'string' ? expect.stringMatching(new RegExp(`^${expected} `)) : expect.stringMatching(expected) });
    expect(fs.existsSync(marker)).toBe(false);
    // memory stays with the sandbox: the host process grows by far less than what the payload asked for
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(256 * 1024 * 1024);
    await hostStillServes();
  }, 30_000);

  test('code that breaks out of its function wrapper is still just sandboxed code', async () => {
    await expect(run("})(); '{not json'; (async () => {")).resolves.toBeNull();
    await expect(run('}); while (true) {} (async () => {')).rejects.toMatchObject({ code: 'TOOL_FAILED' });
    await hostStillServes();
  });

  test('a run stuck in native code never blocks the host: other tools complete meanwhile', async () => {
    let settled = false;
    const stuck = run('const a = new Array(300000).fill(0); for (;;) a.fill(1)').finally(() => {
      settled = true;
    });
    stuck.catch(() => undefined);
    await expect(tools.execute('core.math', { op: 'max', values: [1, 9] }, { requesterId: caller })).resolves.toEqual({ result: 9 });
    expect(settled).toBe(false);
    await expect(stuck).rejects.toMatchObject({ code: 'TOOL_FAILED', details: { reason: 'timeout' } });
    await hostStillServes();
  });

  test('no host globals exist inside: require, process, fetch, the bridge internals', async () => {
    await expect(run('return [typeof require, typeof process, typeof fetch, typeof setTimeout, typeof __hostCall, typeof __args, typeof globalThis.Buffer]')).resolves.toEqual(Array(7).fill('undefined'));
  });

  test('prototype pollution stays inside the sandbox', async () => {
    await run("Object.prototype.polluted = 'yes'; Array.prototype.push = null; args.__proto__.polluted = 1; return { ok: true }", JSON.parse('{"__proto__": {"polluted": "via-args"}}'));
    const out = await run('return { ok: true, value: args }', { nested: { a: 1 } });
    expect(out).toEqual({ ok: true, value: { nested: { a: 1 } } });
    // a plain data object (its prototype is the realm's Object.prototype: no setters, no pollution)
    expect(Object.getPrototypeOf(Object.getPrototypeOf(out))).toBeNull();
    expect(Object.getOwnPropertyNames(Object.getPrototypeOf(out))).not.toContain('polluted');
    await hostStillServes();
  });

  test('returned values are data only: functions and symbols never reach the host', async () => {
    await expect(run('return { f: () => 1, s: Symbol("x"), n: 1 }')).resolves.toEqual({ n: 1 });
    await expect(run('return undefined')).resolves.toBeNull();
  });

  test('other tools are reachable only through the allow-list and the normal permission checks', async () => {
    await expect(run("const r = await tools.call('core.math', { op: 'mul', values: [6, 7] }); return r.result", {}, ['core.math'])).resolves.toBe(42);
    const denied = run("return await tools.call('core.echo', { a: 1 })", {}, ['core.math']);
    await expect(denied).rejects.toMatchObject({ code: 'TOOL_FAILED', message: expect.stringMatching(/not in its allowedTools/) });
    // bad arguments to an allowed tool surface as the callee's validation error
    await expect(run("return await tools.call('core.math', { op: 'nope' })", {}, ['core.math'])).rejects.toMatchObject({ message: expect.stringMatching(/invalid arguments for core.math/) });
    // another user's custom tool stays forbidden even when allow-listed: the call runs as the caller
    const foreign = await custom('return 1', [], `other${newId(5)}`);
    await expect(run(`return await tools.call('${foreign}', {})`, {}, [foreign])).rejects.toMatchObject({ message: expect.stringMatching(/may not run tool/) });
    // the event emitter checks the caller's namespaces
    events.clear();
    await expect(run("return await tools.call('core.events.emit', { type: 'agent.note', data: { x: 1 } })", {}, ['core.events.emit'])).resolves.toEqual({ emitted: 'agent.note' });
    expect(events.ofType('agent.note')).toEqual([{ type: 'agent.note', data: { x: 1 }, source: caller }]);
    await expect(run("return await tools.call('core.events.emit', { type: 'resource.created', data: {} })", {}, ['core.events.emit'])).rejects.toMatchObject({ message: expect.stringMatching(/may not emit/) });
    expect(events.ofType('resource.created')).toEqual([]);
  });

  test('recursive tool calls stop at the nesting limit', async () => {
    const name = `t_${newId(8)}`;
    await tools.registerCustomTool(owner, { name, description: 'recurses', code: `return 1 + (await tools.call('custom.${name}', {}))`, requiresApproval: false, allowedTools: [`custom.${name}`] });
    await expect(tools.execute(`custom.${name}`, {}, { requesterId: caller })).rejects.toMatchObject({ code: 'TOOL_FAILED', message: expect.stringMatching(/nest at most/) });
    await hostStillServes();
  });

  test('the sandbox runner is usable on its own and honours an abort signal', async () => {
    const sandbox = createQuickJsSandbox({ timeoutMs: 5_000 });
    const controller = new AbortController();
    const running = sandbox.run({ code: 'await tools.call("slow", {}); return 1', args: {}, signal: controller.signal, callTool: () => new Promise(() => {}) });
    controller.abort();
    await expect(running).rejects.toMatchObject({ code: 'TOOL_FAILED', details: { reason: 'aborted' } });
    await expect(sandbox.run({ code: 'return args.a + args.b', args: { a: 1, b: 2 } })).resolves.toBe(3);
  });
});
