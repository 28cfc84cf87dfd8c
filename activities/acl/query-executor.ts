import type { Pool, QueryConfig } from 'pg';
import { AppError } from '../../platform/errors';
import { newId } from '../../platform/ids';
import { assertResultWithin, isResultGuardError, RESULT_BYTES_COLUMN, resultTooLarge } from './result-size';

export interface RunOptions {
  sql: string;
  params: unknown[];
  readOnly: boolean;
  statementTimeoutMs: number;
  /** The largest result (rows as JSON) answered; a bigger one fails RESULT_TOO_LARGE and a write is rolled back. */
  maxResultBytes: number;
  /** The PostgreSQL role to run as (queryRoleOf the requester): no superuser powers, only what was granted to it. */
  role: string;
  /** Written into acl_audit in the same transaction as a write, so the trail has every committed write. */
  audit?: { requesterId: string; tables: string[] };
}

export interface QueryResult {
  rowCount: number;
  fields: string[];
  rows: Record<string, unknown>[];
}

/** SQLSTATE classes that are the statement's fault, not the server's: a 422 with PostgreSQL's message. */
const CALLER_ERRORS = /^(22|23|42|2B|0A|08P01|54)/;

/** Sends objects and arrays as JSON text so they bind to json/jsonb parameters. */
function bindable(param: unknown): unknown {
  return param !== null && typeof param === 'object' ? JSON.stringify(param) : param;
}

/**
 * Runs one already-validated statement: its own transaction (READ ONLY for reads), a statement
 * timeout, `SET LOCAL ROLE <role>`, and the extended protocol (one statement, bound
 * parameters). Throws FORBIDDEN when PostgreSQL itself refuses a privilege, UNPROCESSABLE for
 * errors of the statement (including the timeout), RESULT_TOO_LARGE for a result over
 * `maxResultBytes` (a read the wrapper of guardedReadSql stops in PostgreSQL, or any result received).
 */
export async function runStatement(pool: Pick<Pool, 'connect'>, options: RunOptions): Promise<QueryResult> {
  const client = await pool.connect();
  try {
    await client.query(options.readOnly ? 'BEGIN READ ONLY' : 'BEGIN');
    await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(options.statementTimeoutMs))}`);
    await client.query('SET LOCAL search_path = public');
    await client.query(`SET LOCAL ROLE ${client.escapeIdentifier(options.role)}`);
    // queryMode 'extended' (pg ≥ 8.13, absent from @types/pg): one Parse message, so never several statements.
    const config = { text: options.sql, values: options.params.map(bindable), queryMode: 'extended' } as QueryConfig;
    const result = await client.query(config);
    const fields = result.fields.map((f) => f.name).filter((name) => name !== RESULT_BYTES_COLUMN);
    const rows = result.rows as Record<string, unknown>[];
    if (fields.length < result.fields.length) for (const row of rows) delete row[RESULT_BYTES_COLUMN];
    assertResultWithin(rows, options.maxResultBytes); // before COMMIT: an oversized RETURNING undoes its write
    await client.query('RESET ROLE');
    if (options.audit) {
      await client.query({
        text: `INSERT INTO acl_audit (id, requester_id, action, outcome, table_names, statement) VALUES ($1, $2, 'query', 'allowed', $3, $4)`,
        values: [newId(), options.audit.requesterId, options.audit.tables, options.sql.slice(0, 4000)],
      });
    }
    await client.query('COMMIT');
    return { rowCount: result.rowCount ?? 0, fields, rows };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    if (isResultGuardError(error)) throw resultTooLarge(options.maxResultBytes);
    const code = (error as { code?: unknown }).code;
    if (code === '42501' || code === '25006') throw new AppError('FORBIDDEN', `PostgreSQL refused the statement: ${(error as Error).message}`, { sqlstate: code });
    if (code === '57014') throw new AppError('UNPROCESSABLE', `statement exceeded ${options.statementTimeoutMs} ms and was cancelled`, { sqlstate: code });
    if (typeof code === 'string' && CALLER_ERRORS.test(code)) throw new AppError('UNPROCESSABLE', (error as Error).message, { sqlstate: code });
    throw error;
  } finally {
    client.release();
  }
}
