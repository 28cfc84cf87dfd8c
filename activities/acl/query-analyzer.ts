import { loadModule, parseSync } from 'libpg-query';
import { AppError } from '../../platform/errors';
import type { Privilege } from './acl-schemas';
import { ALLOWED_CAST_TYPES, ALLOWED_FUNCTIONS, ALLOWED_NODES } from './sql-allow-lists';

/** One table a statement touches and what it does there. */
export interface TableAccess {
  table: string;
  privilege: Privilege;
}

/** What a permitted statement is and which tables it needs which privilege on. */
export interface QueryAnalysis {
  kind: 'select' | 'insert' | 'update' | 'delete';
  /** True when nothing in the statement writes (no DML root, no data-modifying CTE). */
  readOnly: boolean;
  access: TableAccess[];
  /** The statement's own text: the input without a trailing `;` and anything after it. */
  statement: string;
}

/** Loads the PostgreSQL parser (WASM) once; analyzeQuery needs it loaded. */
export function loadSqlParser(): Promise<void> {
  return loadModule();
}

const ROOTS = { SelectStmt: 'select', InsertStmt: 'insert', UpdateStmt: 'update', DeleteStmt: 'delete' } as const;

type Scope = ReadonlySet<string>;
type Obj = Record<string, unknown>;

function forbid(reason: string): never {
  throw new AppError('FORBIDDEN', `statement rejected: ${reason}`, { reason });
}

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The string values of a list of `{ String: { sval } }` nodes. */
function names(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list.map((n) => (isObj(n) && isObj(n.String) && typeof n.String.sval === 'string' ? n.String.sval : forbid('unexpected name form')));
}

function without(obj: Obj, ...keys: string[]): Obj {
  const copy = { ...obj };
  for (const key of keys) delete copy[key];
  return copy;
}

/** Walks a parse tree, collecting table accesses and rejecting anything not allow-listed. */
class Walker {
  readonly access: TableAccess[] = [];
  writes = false;

  walk(value: unknown, scope: Scope): void {
    if (Array.isArray(value)) {
      for (const item of value) this.walk(item, scope);
      return;
    }
    if (!isObj(value)) return;
    const keys = Object.keys(value);
    if (keys.length === 1 && /^[A-Z]/.test(keys[0]!)) {
      this.node(keys[0]!, value[keys[0]!], scope);
      return;
    }
    // An unwrapped struct; a RangeVar can appear unwrapped, so recognise it by shape.
    if ('relname' in value) return this.table(value, ['read'], scope);
    for (const key of keys) this.walk(value[key], scope);
  }

  private node(type: string, body: unknown, scope: Scope): void {
    if (!ALLOWED_NODES.has(type)) forbid(`${type} is not allowed`);
    if (!isObj(body)) return;
    switch (type) {
      case 'SelectStmt':
        return this.select(body, scope);
      case 'InsertStmt':
      case 'UpdateStmt':
      case 'DeleteStmt':
        return this.modify(type, body, scope);
      case 'RangeVar':
        return this.table(body, ['read'], scope);
      case 'FuncCall':
        this.func(body.funcname);
        return this.walk(without(body, 'funcname'), scope);
      case 'TypeCast':
        this.castType(body.typeName);
        return this.walk(without(body, 'typeName'), scope);
      case 'A_Expr': {
        const op = names(body.name);
        if (op.length > 1 && op[0] !== 'pg_catalog') forbid(`operator schema '${op[0]}'`);
        return this.walk(without(body, 'name'), scope);
      }
      default:
        return this.walk(body, scope);
    }
  }

  private select(s: Obj, scope: Scope): void {
    if (s.intoClause) forbid('SELECT INTO creates a table');
    if (Array.isArray(s.lockingClause) && s.lockingClause.length > 0) forbid('locking clauses (FOR UPDATE/SHARE) are not allowed');
    const inner = this.withClause(s.withClause, scope);
    if (isObj(s.larg)) this.select(s.larg, inner);
    if (isObj(s.rarg)) this.select(s.rarg, inner);
    this.walk(without(s, 'withClause', 'larg', 'rarg'), inner);
  }

  private modify(type: 'InsertStmt' | 'UpdateStmt' | 'DeleteStmt', s: Obj, scope: Scope): void {
    this.writes = true;
    const inner = this.withClause(s.withClause, scope);
    if (!isObj(s.relation)) forbid('statement without a target table');
    const privileges: Privilege[] =
      type === 'InsertStmt' ? (s.returningClause || s.onConflictClause ? ['write', 'read'] : ['write']) : type === 'UpdateStmt' ? ['write', 'read'] : ['delete', 'read'];
    // The target of a DML statement is always a real table, never a CTE of the same name.
    this.table(s.relation, privileges, new Set());
    this.walk(without(s, 'withClause', 'relation'), inner);
  }

  /** Registers the CTE names of a WITH clause and walks their bodies with the names each may see. */
  private withClause(w: unknown, scope: Scope): Scope {
    if (!isObj(w)) return scope;
    const ctes = Array.isArray(w.ctes) ? w.ctes : [];
    const bodies = ctes.map((c) => (isObj(c) && isObj(c.CommonTableExpr) ? c.CommonTableExpr : forbid('unexpected WITH clause form')));
    const cteNames = bodies.map((b) => (typeof b.ctename === 'string' ? b.ctename : forbid('unnamed CTE')));
    bodies.forEach((body, i) => {
      const visible = new Set([...scope, ...(w.recursive === true ? cteNames : cteNames.slice(0, i))]);
      this.walk(without(body, 'ctename'), visible);
    });
    return new Set([...scope, ...cteNames]);
  }

  private table(rv: Obj, privileges: Privilege[], scope: Scope): void {
    if (rv.catalogname !== undefined) forbid('database-qualified names are not allowed');
    const schema = rv.schemaname;
    if (schema !== undefined && schema !== 'public') forbid(`schema '${String(schema)}' is not accessible`);
    const name = rv.relname;
    if (typeof name !== 'string') forbid('unexpected table reference');
    if (schema === undefined && scope.has(name)) return; // a CTE, not a table
    if (name.startsWith('pg_')) forbid(`system catalog '${name}' is not accessible`);
    for (const privilege of privileges) this.access.push({ table: name, privilege });
    if (rv.alias !== undefined) this.walk(rv.alias, scope);
  }

  private func(funcname: unknown): void {
    const parts = names(funcname);
    const name = parts[parts.length - 1];
    if (name === undefined) forbid('unnamed function');
    if (parts.length > 2 || (parts.length === 2 && parts[0] !== 'pg_catalog')) forbid(`function '${parts.join('.')}' is not allowed`);
    if (!ALLOWED_FUNCTIONS.has(name)) forbid(`function '${name}' is not allowed`);
  }

  private castType(typeName: unknown): void {
    const parts = isObj(typeName) ? names(typeName.names) : [];
    const name = parts[parts.length - 1];
    if (name === undefined || parts.length > 2 || (parts.length === 2 && parts[0] !== 'pg_catalog') || !ALLOWED_CAST_TYPES.has(name)) {
      forbid(`cast to '${parts.join('.')}' is not allowed`);
    }
  }
}

/**
 * Parses one statement with the real PostgreSQL parser and returns its kind and table accesses.
 * Throws VALIDATION_FAILED for unparseable or empty input and FORBIDDEN for anything outside the
 * allow-lists (DDL, several statements, system schemas, COPY, SELECT INTO, unlisted functions...).
 * Never throws anything but AppError.
 */
export function analyzeQuery(sql: string): QueryAnalysis {
  let tree: { stmts?: { stmt?: unknown; stmt_location?: number; stmt_len?: number }[] };
  try {
    tree = parseSync(sql) as typeof tree;
  } catch (error) {
    throw new AppError('VALIDATION_FAILED', `SQL could not be parsed: ${error instanceof Error ? error.message : 'parse error'}`);
  }
  const stmts = tree.stmts ?? [];
  if (stmts.length === 0) throw new AppError('VALIDATION_FAILED', 'no SQL statement given');
  if (stmts.length > 1) forbid('exactly one statement is allowed');
  const { stmt: root, stmt_location: at = 0, stmt_len: length } = stmts[0]!;
  const type = isObj(root) ? Object.keys(root)[0] : undefined;
  if (type === undefined || !(type in ROOTS)) forbid(`${type ?? 'this'} statements are not allowed`);
  const walker = new Walker();
  try {
    walker.walk(root, new Set());
  } catch (error) {
    if (error instanceof AppError) throw error;
    // A tree too deep for the stack, or a shape the walker does not know: deny, never crash.
    forbid('statement too complex to verify');
  }
  // Locations are byte offsets into the UTF-8 text; a missing length means "to the end".
  const bytes = Buffer.from(sql, 'utf8');
  const statement = bytes.subarray(at, length ? at + length : bytes.length).toString('utf8');
  return { kind: ROOTS[type as keyof typeof ROOTS], readOnly: !walker.writes, access: walker.access, statement };
}
