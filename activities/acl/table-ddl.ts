import { createHash } from 'node:crypto';
import { AppError } from '../../platform/errors';
import { COLUMN_TYPES, type ColumnDefinition, type ParsedTableDefinition } from './acl-schemas';

const IDENTIFIER = /^[a-z][a-z0-9_]{0,62}$/;

/** Double-quotes an identifier after checking it against the strict pattern; throws otherwise. */
export function quoteIdentifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new AppError('VALIDATION_FAILED', `'${name}' is not a valid identifier`, { name });
  return `"${name}"`;
}

/** A SQL literal for a spec default; requires standard_conforming_strings (set by the caller's transaction). */
function literal(value: string | number | boolean): string {
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'NULL';
  return `'${value.replace(/'/g, "''")}'`;
}

function columnSql(column: ColumnDefinition): string {
  const parts = [quoteIdentifier(column.name), COLUMN_TYPES[column.type]];
  if (!column.nullable) parts.push('NOT NULL');
  if (column.unique) parts.push('UNIQUE');
  if (column.default !== undefined) {
    parts.push('DEFAULT', 'literal' in column.default ? `${literal(column.default.literal)}::${COLUMN_TYPES[column.type === 'serial' ? 'bigint' : column.type]}` : column.default.expression);
  }
  return parts.join(' ');
}

/**
 * The DDL statements creating `table` from a validated spec: CREATE TABLE and its indexes.
 * Every identifier is pattern-checked and quoted; no text from the spec reaches the SQL unquoted.
 */
export function buildCreateTableSql(table: string, def: ParsedTableDefinition): string[] {
  const columns = def.columns.map(columnSql);
  const keys = def.columns.filter((c) => c.primaryKey).map((c) => quoteIdentifier(c.name));
  if (keys.length > 0) columns.push(`PRIMARY KEY (${keys.join(', ')})`);
  const statements = [`CREATE TABLE ${quoteIdentifier(table)} (${columns.join(', ')})`];
  const tag = createHash('sha256').update(table).digest('hex').slice(0, 12);
  def.indexes.forEach((cols, i) => {
    statements.push(`CREATE INDEX ${quoteIdentifier(`idx_${tag}_${i}`)} ON ${quoteIdentifier(table)} (${cols.map(quoteIdentifier).join(', ')})`);
  });
  return statements;
}

/**
 * A stored table spec as the table was created: PostgreSQL makes primary-key columns NOT NULL
 * whatever the spec said, so they read `nullable: false`. Anything that is not a spec (a system
 * table's) is returned as it is. For showing only: stored specs are compared as they were given.
 */
export function specAsCreated(schema: unknown): unknown {
  if (typeof schema !== 'object' || schema === null || !('columns' in schema) || !Array.isArray(schema.columns)) return schema;
  const columns: unknown[] = schema.columns.map((c: unknown) => (typeof c === 'object' && c !== null && 'primaryKey' in c && c.primaryKey === true ? { ...c, nullable: false } : c));
  return { ...schema, columns };
}

/** The physical name of a plugin's table; UNPROCESSABLE when it would exceed PostgreSQL's 63 bytes. */
export function pluginTableName(pluginId: string, name: string): string {
  const table = `plugin_${pluginId}_${name}`;
  if (!IDENTIFIER.test(table)) throw new AppError('UNPROCESSABLE', `table name '${table}' is longer than 63 characters or invalid`, { table });
  return table;
}

/** The physical name of a user table. */
export function userTableName(name: string): string {
  const table = `user_${name}`;
  if (!IDENTIFIER.test(table)) throw new AppError('UNPROCESSABLE', `table name '${table}' is longer than 63 characters or invalid`, { table });
  return table;
}
