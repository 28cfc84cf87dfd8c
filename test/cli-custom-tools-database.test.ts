import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestKey, testKeyService } from './support/api-auth';
import { ownpilot } from './support/cli-process';
import { serve, type Served } from './support/serve';
import { openTestStack, type TestStack } from './support/test-stack';
import { stackApp } from './support/tool-test-app';

// The CLI's custom-tool and database commands, run as a user would against the real API.
describe('ownpilot CLI: custom tools, db query, tables, grants, audit', () => {
  let stack: TestStack;
  let served: Served;
  /** The environment of a principal's key (admin, user:dora, user:erin). */
  const as: Record<string, Record<string, string>> = {};
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-data-'));
  const file = (name: string, content: unknown) => {
    const at = path.join(dir, name);
    fs.writeFileSync(at, JSON.stringify(content));
    return at;
  };

  beforeAll(async () => {
    stack = await openTestStack();
    served = await serve(stackApp(stack));
    const keys = testKeyService(stack.prisma);
    for (const principal of ['admin', 'user:dora', 'user:erin']) {
      as[principal] = { OWNPILOT_URL: served.url, OWNPILOT_API_KEY: await createTestKey(keys, principal), OWNPILOT_CONFIG: path.join(dir, 'none.json') };
    }
  });
  afterAll(async () => {
    await served.close();
    await stack.close();
  });

  test('custom tools: create from a file and from stdin, list, get, update, disable/enable, delete; bad input says why', async () => {
    const name = `cli_triple_${Date.now()}`;
    const created = await ownpilot(['custom-tools', 'create', file('tool.json', {
      name, description: 'triples n', userId: 'dora', requiresApproval: false,
      parameters: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] }, code: 'return { value: args.n * 3 }',
    }), '--json'], as.admin!);
    expect(created.stderr).toBe('');
    const { id } = JSON.parse(created.stdout) as { id: string };
    // A user's key creates the user's own tool; `-` reads the definition from standard input.
    const piped = await ownpilot(['custom-tools', 'create', '-'], as['user:dora']!, JSON.stringify({ name: `${name}_b`, description: 'piped', code: 'return 1' }));
    expect(piped.stdout).toMatch(/^userId\s+dora$/m);

    const listed = await ownpilot(['custom-tools', 'list'], as['user:dora']!);
    expect(listed.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+USERID\s+ISENABLED\s+REQUIRESAPPROVAL\s+DESCRIPTION$/);
    expect(listed.stdout).toMatch(new RegExp(`^${id}\\s+${name}\\s+dora\\s+true\\s+false\\s+triples n$`, 'm'));
    expect(listed.stdout).toMatch(new RegExp(`\\s${name}_b\\s+dora\\s+true\\s+true\\s+piped$`, 'm'));
    expect((await ownpilot(['custom-tools', 'list'], as['user:erin']!)).stdout).toBe('(none)\n');
    expect((await ownpilot(['custom-tools', 'get', id], as['user:dora']!)).stdout).toMatch(/^code\s+return \{ value: args\.n \* 3 \}$/m);

    const updated = await ownpilot(['custom-tools', 'update', id, file('tool-patch.json', { description: 'triples a number' })], as['user:dora']!);
    expect(updated.stdout).toMatch(/^description\s+triples a number$/m);

    expect((await ownpilot(['custom-tools', 'disable', id], as['user:dora']!)).stdout).toMatch(/^isEnabled\s+false$/m);
    const refused = await ownpilot(['tools', 'run', `custom.${name}`, '--args', '{"n":2}'], as['user:dora']!);
    expect({ code: refused.code, stderr: refused.stderr }).toEqual({ code: 1, stderr: expect.stringMatching(/^ownpilot: TOOL_DISABLED: /) });
    expect((await ownpilot(['custom-tools', 'enable', id], as['user:dora']!)).stdout).toMatch(/^isEnabled\s+true$/m);
    expect(JSON.parse((await ownpilot(['tools', 'run', `custom.${name}`, '--args', '{"n":2}', '--json'], as['user:dora']!)).stdout)).toMatchObject({ output: { value: 6 } });

    const foreign = await ownpilot(['custom-tools', 'get', id], as['user:erin']!);
    expect({ code: foreign.code, stderr: foreign.stderr }).toEqual({ code: 1, stderr: `ownpilot: FORBIDDEN: user:erin may not read custom tool '${id}'\n` });
    expect((await ownpilot(['custom-tools', 'delete', id], as['user:dora']!)).stdout).toMatch(/^deleted\s+true$/m);
    const gone = await ownpilot(['custom-tools', 'get', id], as['user:dora']!);
    expect({ code: gone.code, stderr: gone.stderr }).toEqual({ code: 1, stderr: `ownpilot: NOT_FOUND: custom tool '${id}' does not exist\n` });

    // The API's schema issues reach the user, one line; a missing file is named.
    const invalid = await ownpilot(['custom-tools', 'create', file('bad-tool.json', { name: 'Bad Name', description: 'x', code: 'return 1' })], as['user:dora']!);
    expect({ code: invalid.code, stderr: invalid.stderr }).toEqual({ code: 1, stderr: 'ownpilot: VALIDATION_FAILED: request is invalid: name: lower-case letters, digits and _; registered as custom.<name>\n' });
    const missing = await ownpilot(['custom-tools', 'create', path.join(dir, 'nope.json')], as['user:dora']!);
    expect({ code: missing.code, stderr: missing.stderr }).toEqual({ code: 1, stderr: `ownpilot: cannot read ${path.join(dir, 'nope.json')}: ENOENT\n` });
  });

  test('db: a user creates a table, writes and reads it with bound parameters, grants and revokes a read, drops it', async () => {
    const short = `cli_${Date.now()}`;
    const table = `user_${short}`;
    const spec = file('table.json', { name: short, columns: [{ name: 'k', type: 'text', primaryKey: true }, { name: 'n', type: 'integer' }] });
    expect((await ownpilot(['db', 'create-table', spec], as['user:dora']!)).stdout).toBe(`table    ${table}\ncreated  true\n`);

    const inserted = await ownpilot(['db', 'query', `INSERT INTO ${table} (k, n) VALUES ($1, $2), ($3, $4)`, '--params', '["a", 1, "b", 22]'], as['user:dora']!);
    expect(inserted.stdout).toBe('kind      insert\nrowCount  2\n');
    const selected = await ownpilot(['db', 'query', `SELECT k, n FROM ${table} ORDER BY k`], as['user:dora']!);
    expect(selected.stdout).toBe('K  N\na  1\nb  22\n');
    const json = JSON.parse((await ownpilot(['db', 'query', `SELECT n FROM ${table} WHERE k = $1`, '--params', '["b"]', '--json'], as['user:dora']!)).stdout);
    expect(json).toMatchObject({ kind: 'select', fields: ['n'], rows: [{ n: 22 }], truncated: false });

    const tables = await ownpilot(['db', 'tables'], as['user:dora']!);
    expect(tables.stdout.split('\n')[0]).toMatch(/^NAME\s+ACCESSLEVEL\s+OWNERID\s+CREATEDAT$/);
    expect(tables.stdout).toMatch(new RegExp(`^${table}\\s+user\\s+user:dora\\s+\\d{4}-`, 'm'));
    const described = (await ownpilot(['db', 'table', table], as['user:dora']!)).stdout;
    expect(described).toMatch(/^accessLevel\s+user$/m);
    expect(described).toMatch(/^NAME\s+TYPE\s+NULLABLE\s+UNIQUE\s+PRIMARYKEY\s+DEFAULT\nk\s+text\s+false\s+false\s+true\nn\s+integer\s+true\s+false\s+false$/m);

    // Erin may not read dora's table (it answers as a missing one) until dora grants it.
    const hidden = await ownpilot(['db', 'table', table], as['user:erin']!);
    expect({ code: hidden.code, stderr: hidden.stderr }).toEqual({ code: 1, stderr: `ownpilot: NOT_FOUND: table '${table}' does not exist\n` });
    expect((await ownpilot(['db', 'grant', table, 'user:erin', 'read'], as['user:dora']!)).stdout).toBe(`table      ${table}\ngrantee    user:erin\nprivilege  read\ngranted    true\n`);
    expect((await ownpilot(['db', 'query', `SELECT count(*) AS rows FROM ${table}`], as['user:erin']!)).stdout).toBe('ROWS\n2\n');
    expect((await ownpilot(['db', 'revoke', table, 'user:erin', 'read'], as['user:dora']!)).stdout).toMatch(/^revoked\s+true$/m);
    const denied = await ownpilot(['db', 'query', `SELECT k FROM ${table}`], as['user:erin']!);
    expect({ code: denied.code, stderr: denied.stderr }).toEqual({ code: 1, stderr: expect.stringMatching(new RegExp(`^ownpilot: FORBIDDEN: .*may not read.*${table}.*\\n$`)) });

    const audit = await ownpilot(['db', 'audit', '--requester', 'user:erin', '--outcome', 'denied', '--limit', '1'], as.admin!);
    expect(audit.stdout.split('\n')[0]).toMatch(/^CREATEDAT\s+REQUESTERID\s+ACTION\s+OUTCOME\s+TABLENAMES\s+REASON$/);
    expect(audit.stdout).toMatch(new RegExp(`^\\S+\\s+user:erin\\s+query\\s+denied\\s+\\["${table}"\\]`, 'm'));
    expect((await ownpilot(['db', 'audit'], as['user:dora']!)).stderr).toMatch(/^ownpilot: FORBIDDEN: /);

    expect((await ownpilot(['db', 'drop-table', table], as['user:dora']!)).stdout).toBe(`table    ${table}\ndropped  true\n`);
    expect((await ownpilot(['db', 'drop-table', table], as['user:dora']!)).stderr).toBe(`ownpilot: NOT_FOUND: table '${table}' does not exist\n`);
  });

  test('db: malformed input is a usage error before any request; the API\'s refusals are one line', async () => {
    const notArray = await ownpilot(['db', 'query', 'SELECT 1', '--params', '{"a":1}'], as.admin!);
    expect({ code: notArray.code, stderr: notArray.stderr }).toEqual({ code: 2, stderr: 'ownpilot: --params must be a JSON array\n' });
    const badLimit = await ownpilot(['db', 'audit', '--limit', 'ten'], as.admin!);
    expect({ code: badLimit.code, stderr: badLimit.stderr }).toEqual({ code: 2, stderr: 'ownpilot: --limit must be a whole number\n' });
    expect((await ownpilot(['db', 'query'], as.admin!)).stderr).toMatch(/^ownpilot: missing <sql>\nusage:/);
    const ddl = await ownpilot(['db', 'query', 'DROP TABLE plans'], as.admin!);
    expect({ code: ddl.code, stderr: ddl.stderr }).toEqual({ code: 1, stderr: expect.stringMatching(/^ownpilot: FORBIDDEN: .+\n$/) });
    const badGrant = await ownpilot(['db', 'grant', 'plans', 'user:erin', 'everything'], as.admin!);
    expect({ code: badGrant.code, stderr: badGrant.stderr }).toEqual({ code: 1, stderr: expect.stringMatching(/^ownpilot: VALIDATION_FAILED: request is invalid: privilege: .+\n$/) });
  });
});
