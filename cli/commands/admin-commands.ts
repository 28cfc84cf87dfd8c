import { ApiError } from '../api-client';
import { printObject, printRows } from '../output';
import { arg, jsonFlag, queryString, stringFlag, UsageError, type Command, type CommandContext } from './command-types';

type Row = Record<string, unknown>;
type Tool = Row & { definition: { description?: string } };

/** A JSON object flag (`--args '{"n":1}'`), `{}` when absent. */
function objectFlag(context: CommandContext, name: string): Record<string, unknown> {
  const value = jsonFlag(context, name) ?? {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UsageError(`--${name} must be a JSON object`, false);
  return value as Record<string, unknown>;
}

type Probe = { ok: boolean; error?: string; polling?: number };
type Health = { status: string; postgres: Probe; temporal: Probe; workers?: Probe };

/** `ownpilot status` (the API's /health), `ownpilot tools ...` (find and run tools) and `ownpilot keys ...` (API keys; admin only). */
export function adminCommands(): Record<string, Command> {
  const named = (c: CommandContext, name: string) => encodeURIComponent(arg(c, 0, name));
  return {
    // Exit 1 unless everything answers and a worker polls: scripts can wait on it.
    'status ': async (c) => {
      const health = await c.api.get<Health>('/health').catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 503 && error.body) return error.body as Health;
        throw error;
      });
      const line = (name: string, probe: Probe | undefined, ok: string) => (probe === undefined ? [] : [`${name.padEnd(10)} ${probe.ok ? ok : `DOWN: ${probe.error ?? 'no answer'}`}`]);
      if (c.out.json) c.out.write(`${JSON.stringify(health, null, 2)}\n`);
      else {
        c.out.write(
          [
            `status     ${health.status}`,
            ...line('postgres', health.postgres, 'ok'),
            ...line('temporal', health.temporal, 'ok'),
            ...line('workers', health.workers, `${health.workers?.polling ?? '?'} polling`),
          ].join('\n') + '\n',
        );
      }
      return health.status === 'ok' ? 0 : 1;
    },
    'tools list': async (c) => {
      const { tools } = await c.api.get<{ tools: Tool[] }>(`/api/v1/tools${queryString({ q: stringFlag(c, 'search') })}`);
      const rows = tools.map((t) => ({ ...t, description: t.definition.description, approval: t.requiresApproval ? 'required' : '' }));
      printRows(c.out, tools, rows, ['name', 'source', 'isEnabled', 'approval', 'description']);
    },
    'tools get': async (c) => printObject(c.out, await c.api.get<Row>(`/api/v1/tools/${named(c, 'name')}`)),
    'tools run': async (c) => {
      const result = await c.api.post<Row & { status: string }>(`/api/v1/tools/${named(c, 'name')}/execute`, { args: objectFlag(c, 'args') });
      // People get the duration to a tenth of a millisecond (the API answers it unrounded).
      const duration = typeof result.durationMs === 'number' && !c.out.json ? { durationMs: Math.round(result.durationMs * 10) / 10 } : {};
      printObject(c.out, { ...result, ...duration });
      // A call waiting for approval did not run: scripts must not take it for a result.
      return result.status === 'completed' ? 0 : 1;
    },
    'keys list': async (c) => {
      const { keys } = await c.api.get<{ keys: Row[] }>('/api/v1/keys');
      printRows(c.out, keys, keys, ['id', 'name', 'principal', 'prefix', 'createdAt', 'lastUsedAt', 'revokedAt']);
    },
    'keys create': async (c) => {
      const principal = stringFlag(c, 'principal');
      if (principal === undefined) throw new UsageError('missing --principal (admin, user:<id> or plugin:<id>)');
      printObject(c.out, await c.api.post<Row>('/api/v1/keys', { name: arg(c, 0, 'name'), principal }));
    },
    'keys revoke': async (c) => printObject(c.out, await c.api.delete<Row>(`/api/v1/keys/${named(c, 'keyId')}`)),
  };
}
