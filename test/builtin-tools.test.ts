import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpTools } from '../activities/tools/builtin/http-tools';
import { isBlockedAddress } from '../activities/tools/builtin/address-guard';
import { createToolRegistry } from '../activities/tools/tool-registry';
import { createCollectingPublisher } from './support/collecting-publisher';
import { openTestStack, type TestStack } from './support/test-stack';

describe('built-in tools', () => {
  let stack: TestStack;
  let server: http.Server;
  let port: number;
  const admin = { requesterId: 'admin' };

  beforeAll(async () => {
    stack = await openTestStack();
    server = http.createServer((req, res) => {
      if (req.url === '/ok') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ hello: 'world', method: req.method }));
      if (req.url === '/big') return res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(5000));
      if (req.url === '/to-localhost') return res.writeHead(302, { location: `http://localhost:${port}/ok` }).end();
      if (req.url === '/to-metadata') return res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      if (req.url === '/headers') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ method: req.method, authorization: req.headers.authorization ?? null, cookie: req.headers.cookie ?? null, contentType: req.headers['content-type'] ?? null, custom: req.headers['x-custom'] ?? null }));
      if (req.url === '/same-origin') return res.writeHead(307, { location: '/headers' }).end();
      if (req.url === '/other-origin') return res.writeHead(307, { location: `http://localhost:${port}/headers` }).end();
      if (req.url === '/see-other') return res.writeHead(303, { location: '/headers' }).end();
      // /slow never answers
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await stack.close();
  });

  const exec = (name: string, args: unknown, context = admin) => stack.tools.execute(name, args, context);

  test('core.json.* read, write, merge, pick and transform by path, refusing prototype keys', async () => {
    const doc = { a: { b: [{ c: 1 }, { c: 2 }] }, n: null };
    await expect(exec('core.json.get', { value: doc, path: 'a.b[1].c' })).resolves.toEqual({ value: 2 });
    await expect(exec('core.json.get', { value: doc, path: 'a.x', default: 'none' })).resolves.toEqual({ value: 'none' });
    const set = (await exec('core.json.set', { value: doc, path: 'a.b[0].c', newValue: 9 })) as { value: typeof doc };
    expect(set.value.a.b[0]!.c).toBe(9);
    expect(doc.a.b[0]!.c).toBe(1);
    await expect(exec('core.json.merge', { values: [{ a: { x: 1, y: [1] } }, { a: { y: [2], z: 3 } }, JSON.parse('{"__proto__": {"polluted": 1}}')] })).resolves.toEqual({ value: { a: { x: 1, y: [2], z: 3 } } });
    await expect(exec('core.json.pick', { value: doc, paths: ['a.b[1].c', 'missing'] })).resolves.toEqual({ value: { a: { b: [undefined, { c: 2 }] } } });
    await expect(exec('core.json.transform', { value: doc, mapping: { first: 'a.b[0].c', 'out.second': 'a.b[1].c' } })).resolves.toEqual({ value: { first: 1, out: { second: 2 } } });
    for (const path of ['__proto__.polluted', 'constructor.prototype', 'a..b', 'a[']) {
      await expect(exec('core.json.set', { value: {}, path, newValue: 1 })).rejects.toMatchObject({ code: 'UNPROCESSABLE' });
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('core.string.template renders variables, sections and inverted sections without running code', async () => {
    const data = { user: { name: 'Ada' }, items: [{ t: 'a' }, { t: 'b' }], empty: [], code: '{{user.name}}' };
    await expect(exec('core.string.template', { template: 'Hi {{user.name}}: {{#items}}[{{t}}]{{/items}}{{^empty}} none{{/empty}} {{code}} {{missing}}.', data })).resolves.toEqual({
      text: 'Hi Ada: [a][b] none {{user.name}} .',
    });
    await expect(exec('core.string.template', { template: '{{constructor.constructor}}', data: {} })).rejects.toMatchObject({ code: 'UNPROCESSABLE' });
    await expect(exec('core.string.template', { template: '{{#a}}x{{/b}}', data: {} })).rejects.toMatchObject({ code: 'UNPROCESSABLE' });
    await expect(exec('core.string.template', { template: '{{#a}}{{#a}}{{.}}{{.}}{{.}}{{.}}{{/a}}{{/a}}', data: { a: Array(2000).fill('x'.repeat(100)) } })).rejects.toMatchObject({ code: 'UNPROCESSABLE' });
  });

  test('core.wait waits and is abortable', async () => {
    await expect(exec('core.wait', { ms: 1 })).resolves.toEqual({ waitedMs: 1 });
    const controller = new AbortController();
    const waiting = exec('core.wait', { ms: 60_000 }, { requesterId: 'admin', signal: controller.signal } as typeof admin);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'TOOL_FAILED' });
    await expect(exec('core.wait', { ms: 10 * 60_000 })).rejects.toMatchObject({ code: 'UNPROCESSABLE' });
  });

  test('core.events.emit publishes only under the caller’s namespaces (a plugin also needs its events.emit grant)', async () => {
    // p1 is an enabled plugin granted events.emit; p0 exists without the grant
    const now = new Date();
    const plugin = (id: string, permissions: string[]) => ({ id, manifest: { id, name: id, version: '1.0.0', permissions }, status: 'enabled', installedAt: now, updatedAt: now });
    await stack.prisma.plugin.deleteMany({ where: { id: { in: ['p0', 'p1'] } } });
    await stack.prisma.plugin.createMany({ data: [plugin('p1', ['events.emit']), plugin('p0', [])] });
    stack.events.clear();
    await expect(exec('core.events.emit', { type: 'agent.thought', data: { t: 1 } }, { requesterId: 'user:u1' })).resolves.toEqual({ emitted: 'agent.thought' });
    await expect(exec('core.events.emit', { type: 'plugin.p1.ping' }, { requesterId: 'plugin:p1' })).resolves.toEqual({ emitted: 'plugin.p1.ping' });
    await expect(exec('core.events.emit', { type: 'plugin.p0.ping' }, { requesterId: 'plugin:p0' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(exec('core.events.emit', { type: 'plugin.p9.ping' }, { requesterId: 'plugin:p9' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(exec('core.events.emit', { type: 'system.maintenance' }, { requesterId: 'admin' })).resolves.toEqual({ emitted: 'system.maintenance' });
    const denied: [string, string][] = [['user:u1', 'system.shutdown'], ['plugin:p1', 'plugin.p2.ping'], ['plugin:p1', 'agent.x'], ['admin', 'tool.executed'], ['admin', 'resource.created'], ['anonymous', 'agent.x']];
    for (const [requesterId, type] of denied) {
      await expect(exec('core.events.emit', { type }, { requesterId })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    }
    await expect(exec('core.events.emit', { type: 'nonsense.x' }, { requesterId: 'admin' })).rejects.toMatchObject({ code: 'UNPROCESSABLE' });
    expect(stack.events.events.filter((e) => !e.type.startsWith('tool.')).map((e) => [e.type, e.source])).toEqual([
      ['agent.thought', 'user:u1'],
      ['plugin.p1.ping', 'plugin:p1'],
      ['system.maintenance', 'admin'],
    ]);
    await stack.prisma.plugin.deleteMany({ where: { id: { in: ['p0', 'p1'] } } });
  });

  test('core.http.request blocks loopback, private, link-local and names resolving to them', async () => {
    const targets = [
      `http://127.0.0.1:${port}/ok`,
      `http://[::1]:${port}/ok`,
      'http://10.1.2.3/',
      'http://192.168.1.1/',
      'http://172.16.0.1/',
      'http://169.254.169.254/latest/meta-data/',
      `http://localhost:${port}/ok`,
      `http://0x7f000001:${port}/ok`,
      `http://[::ffff:127.0.0.1]:${port}/ok`,
      'http://0.0.0.0/',
      'http://[fe80::1]/',
    ];
    for (const url of targets) {
      const failure = await exec('core.http.request', { url }).then(() => null, (e: { code: string; details: { reason?: string } }) => e);
      expect({ url, code: failure?.code, reason: failure?.details?.reason }).toEqual({ url, code: 'FORBIDDEN', reason: 'blocked_address' });
    }
    await expect(exec('core.http.request', { url: 'file:///etc/passwd' })).rejects.toMatchObject({ code: 'UNPROCESSABLE' });
    for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111']) expect(isBlockedAddress(address)).toBe(false);
    for (const address of ['127.0.0.1', '::1', '10.0.0.1', '169.254.169.254', '::ffff:10.0.0.1', 'fd00::1', '100.64.0.1', '::7f00:1', '::ffff:0:7f00:1', '::', 'not-an-ip']) expect(isBlockedAddress(address)).toBe(true);
  });

  test('core.http.request, with a host allowed by config, fetches with size limit, timeout and checked redirects', async () => {
    const registry = createToolRegistry({ prisma: stack.prisma, events: createCollectingPublisher() });
    await registry.registerBuiltinTools(createHttpTools({ allowPrivate: false, allowedHosts: ['127.0.0.1'], maxResponseBytes: 1000, defaultTimeoutMs: 300 }));
    const run = (args: unknown) => registry.execute('core.http.request', args, admin);
    await expect(run({ url: `http://127.0.0.1:${port}/ok`, method: 'POST', body: { a: 1 } })).resolves.toMatchObject({ status: 200, body: { hello: 'world', method: 'POST' } });
    await expect(run({ url: `http://127.0.0.1:${port}/big` })).rejects.toMatchObject({ code: 'TOOL_FAILED', details: { reason: 'response_too_large' } });
    await expect(run({ url: `http://127.0.0.1:${port}/slow` })).rejects.toMatchObject({ code: 'TOOL_TIMEOUT' });
    await expect(run({ url: `http://127.0.0.1:${port}/to-localhost` })).rejects.toMatchObject({ code: 'FORBIDDEN', details: { reason: 'blocked_address', host: 'localhost' } });
    await expect(run({ url: `http://127.0.0.1:${port}/to-metadata` })).rejects.toMatchObject({ code: 'FORBIDDEN', details: { reason: 'blocked_address' } });
  });

  test('core.http.request keeps credentials for the origin they were given to: a redirect elsewhere drops them', async () => {
    const registry = createToolRegistry({ prisma: stack.prisma, events: createCollectingPublisher() });
    await registry.registerBuiltinTools(createHttpTools({ allowPrivate: false, allowedHosts: ['127.0.0.1', 'localhost'], maxResponseBytes: 10_000, defaultTimeoutMs: 2_000 }));
    const run = async (path: string, extra: Record<string, unknown> = {}) =>
      ((await registry.execute('core.http.request', { url: `http://127.0.0.1:${port}${path}`, headers: { Authorization: 'Bearer SECRET', COOKIE: 'session=SECRET', 'x-custom': 'kept' }, ...extra }, admin)) as { body: unknown }).body;
    expect(await run('/same-origin')).toEqual({ method: 'GET', authorization: 'Bearer SECRET', cookie: 'session=SECRET', contentType: null, custom: 'kept' });
    expect(await run('/other-origin')).toEqual({ method: 'GET', authorization: null, cookie: null, contentType: null, custom: 'kept' });
    // A 303 turns the POST into a GET without its body, and without the headers describing it.
    expect(await run('/see-other', { method: 'POST', body: { a: 1 } })).toEqual({ method: 'GET', authorization: 'Bearer SECRET', cookie: 'session=SECRET', contentType: null, custom: 'kept' });
  });
});
