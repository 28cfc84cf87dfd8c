import { printObject, printRows } from '../output';
import { arg, intFlag, jsonFlag, queryString, stringFlag, UsageError, type Command, type CommandContext } from './command-types';

type Row = Record<string, unknown>;
type QueryResult = { kind: string; rowCount: number; fields: string[]; rows: Row[]; truncated: boolean };
type Table = Row & { schema: { columns?: Row[] } | [] };

/** `--params '[1, "x"]'`: the statement's bind parameters, `[]` when absent. */
function paramsFlag(c: CommandContext): unknown[] {
  const params = jsonFlag(c, 'params') ?? [];
  if (!Array.isArray(params)) throw new UsageError('--params must be a JSON array', false);
  return params;
}

/** `ownpilot db ...`: SQL through the database ACL as the caller, tables, grants and the audit trail. */
export function databaseCommands(): Record<string, Command> {
  const table = (c: CommandContext) => `/api/v1/acl/tables/${encodeURIComponent(arg(c, 0, 'table'))}`;
  /** Grant and revoke take the same body; the API answers neither with a body. */
  const grant = (method: 'post' | 'delete', done: 'granted' | 'revoked'): Command => async (c) => {
    const body = { grantee: arg(c, 1, 'grantee'), privilege: arg(c, 2, 'read|write|delete') };
    await c.api[method](`${table(c)}/grants`, body);
    printObject(c.out, { table: arg(c, 0, 'table'), ...body, [done]: true });
  };
  return {
    'db query': async (c) => {
      const result = await c.api.post<QueryResult>('/api/v1/db/query', { sql: arg(c, 0, 'sql'), params: paramsFlag(c) });
      // A write without RETURNING has no columns: people get its row count.
      if (result.fields.length === 0 && !c.out.json) printObject(c.out, { kind: result.kind, rowCount: result.rowCount });
      else printRows(c.out, result, result.rows, result.fields);
      if (result.truncated && !c.out.json) c.out.write(`(truncated: more rows matched than the API returns; narrow the query)\n`);
    },
    'db tables': async (c) => {
      const { tables } = await c.api.get<{ tables: Row[] }>('/api/v1/acl/tables');
      printRows(c.out, tables, tables, ['name', 'accessLevel', 'ownerId', 'createdAt']);
    },
    'db table': async (c) => {
      // People get the table's metadata, then its columns (system tables have no spec: none).
      const found = await c.api.get<Table>(table(c));
      const { schema, ...meta } = found;
      if (!c.out.json) printObject(c.out, meta);
      printRows(c.out, found, Array.isArray(schema) ? [] : (schema.columns ?? []), ['name', 'type', 'nullable', 'unique', 'primaryKey', 'default']);
    },
    'db create-table': async (c) => printObject(c.out, await c.api.post<Row>('/api/v1/acl/tables', c.readJson(arg(c, 0, 'spec.json')))),
    'db drop-table': async (c) => printObject(c.out, await c.api.delete<Row>(table(c))),
    'db grant': grant('post', 'granted'),
    'db revoke': grant('delete', 'revoked'),
    'db audit': async (c) => {
      const query = queryString({ requesterId: stringFlag(c, 'requester'), outcome: stringFlag(c, 'outcome'), limit: intFlag(c, 'limit') });
      const { entries } = await c.api.get<{ entries: Row[] }>(`/api/v1/acl/audit${query}`);
      printRows(c.out, entries, entries, ['createdAt', 'requesterId', 'action', 'outcome', 'tableNames', 'reason']);
    },
  };
}
