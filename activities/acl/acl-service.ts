import { isDeepStrictEqual } from 'node:util';
import type { Pool } from 'pg';
import type { PrismaClient } from '../../platform/database';
import { AppError, notFound } from '../../platform/errors';
import { newId } from '../../platform/ids';
import { asJson } from '../../platform/json';
import { postgresErrorOf } from '../../platform/sql-state';
import { pluginPrincipal } from '../auth/principal';
import type { EventPublisher } from '../events/event-types';
import { PluginDatabaseTable, TablePluginId, type AuditQuery, type GrantBody, type ParsedTableDefinition, type Privilege } from './acl-schemas';
import { GRANTABLE, isAllowed, type AccessLevel, type TableRules } from './acl-rules';
import { analyzeQuery, loadSqlParser, type QueryAnalysis } from './query-analyzer';
import { UNREADABLE_TABLES } from './sql-allow-lists';
import { runStatement, type QueryResult } from './query-executor';
import { guardedReadSql } from './result-size';
import { ADMIN_QUERY_ROLE, PRIVILEGE_SQL, ensureRoleSql, queryRoleOf } from './query-roles';
import { buildCreateTableSql, pluginTableName, quoteIdentifier, specAsCreated, userTableName } from './table-ddl';

/** PostgreSQL NOTIFY channel announcing table_metadata / table_grants changes to every process. */
export const ACL_CHANNEL = 'ownpilot_acl';
const SOURCE = 'database-acl';
const MAX_CACHED_TABLES = 10_000;
/** Metadata as the API shows it: the spec as the table was created. */
const shown = (metadata: TableMetadata): TableMetadata => ({ ...metadata, schema: specAsCreated(metadata.schema) });

/** The seed's TableMetadata. */
export interface TableMetadata {
  name: string;
  accessLevel: AccessLevel;
  ownerId?: string;
  schema: unknown;
  createdAt: string;
  isSystem: boolean;
}

/** The seed's ValidationResult for a statement that passed: what it is and what it touches. */
export interface ValidationResult extends QueryAnalysis {
  valid: true;
}

export interface DatabaseAclDeps {
  prisma: PrismaClient;
  /** Runs validated statements (a pg pool on the same database). */
  pool: Pick<Pool, 'connect'>;
  events: EventPublisher;
  statementTimeoutMs?: number;
  maxRows?: number;
  /** The largest result a statement may answer (its rows as JSON); more is RESULT_TOO_LARGE. */
  maxResultBytes?: number;
  /** Backstop expiry of cached metadata; changes in any process also clear caches through NOTIFY. */
  cacheTtlMs?: number;
  now?: () => number;
  /** Counts statements and denials for the metrics exporter (optional). */
  metrics?: AclMetricsSink;
}

/** The narrow slice of a metrics exporter the ACL reports to. */
export interface AclMetricsSink {
  query(requesterId: string, outcome: 'ok' | 'denied' | 'error'): void;
  denied(requesterId: string, action: string): void;
}

interface CachedTable {
  rules: TableRules | null;
  metadata: TableMetadata | null;
  expiresAt: number;
}

type Action = 'query' | 'create_table' | 'drop_table' | 'grant' | 'revoke';

/** The database ACL (seed §2): table metadata, access decisions, query validation and execution, plugin tables. */
export function createDatabaseAcl({ prisma, pool, events, statementTimeoutMs = 5000, maxRows = 1000, maxResultBytes = 16 * 1024 * 1024, cacheTtlMs = 30_000, now = Date.now, metrics }: DatabaseAclDeps) {
  const cache = new Map<string, CachedTable>();
  const parserReady = loadSqlParser();
  const ensuredRoles = new Set<string>([ADMIN_QUERY_ROLE]);

  /** Makes sure a principal's query role exists (its own autocommitted statement, so a rolled-back caller cannot undo it). */
  async function ensureRole(principal: string): Promise<string> {
    const role = queryRoleOf(principal);
    if (!ensuredRoles.has(role)) {
      await prisma.$executeRawUnsafe(ensureRoleSql(role));
      ensuredRoles.add(role);
    }
    return role;
  }

  async function load(table: string): Promise<CachedTable> {
    const hit = cache.get(table);
    if (hit && hit.expiresAt > now()) return hit;
    const [row, grants] = await Promise.all([
      prisma.tableMetadata.findUnique({ where: { tableName: table } }),
      prisma.tableGrant.findMany({ where: { tableName: table } }),
    ]);
    const byGrantee = new Map<string, Set<Privilege>>();
    for (const g of grants) byGrantee.set(g.grantee, (byGrantee.get(g.grantee) ?? new Set()).add(g.privilege as Privilege));
    const entry: CachedTable = row
      ? {
          rules: { name: row.tableName, accessLevel: row.accessLevel as AccessLevel, ownerId: row.ownerId, grants: byGrantee },
          metadata: {
            name: row.tableName,
            accessLevel: row.accessLevel as AccessLevel,
            ...(row.ownerId ? { ownerId: row.ownerId } : {}),
            schema: row.schemaDefinition,
            createdAt: row.createdAt.toISOString(),
            isSystem: row.isSystem,
          },
          expiresAt: now() + cacheTtlMs,
        }
      : { rules: null, metadata: null, expiresAt: now() + cacheTtlMs };
    if (cache.size >= MAX_CACHED_TABLES) cache.clear(); // names come from user SQL: never grow without bound
    cache.set(table, entry);
    return entry;
  }

  async function can(table: string, requesterId: string, privilege: Privilege): Promise<boolean> {
    const { rules } = await load(table);
    return rules !== null && isAllowed(rules, requesterId, privilege);
  }

  /**
   * Whether `requesterId` may learn that `table` exists: admin always, anyone else only when it
   * may read the table. To everyone else a table answers exactly as a missing one, so table names
   * cannot be probed.
   */
  async function visible(table: string, requesterId: string): Promise<boolean> {
    return requesterId === 'admin' || can(table, requesterId, 'read');
  }

  /** Audits and announces a denial. */
  async function recordDenial(requesterId: string, action: Action, reason: string, tables: string[], statement?: string): Promise<void> {
    await prisma.aclAudit.create({
      data: { id: newId(), requesterId, action, outcome: 'denied', tableNames: tables, statement: statement?.slice(0, 4000) ?? null, reason: reason.slice(0, 1000) },
    });
    events.emit('database.access_denied', { requesterId, action, reason, tables }, SOURCE);
    metrics?.denied(requesterId, action);
  }

  /** Audits and announces a denial, then throws it (FORBIDDEN unless `error` says otherwise). */
  async function deny(requesterId: string, action: Action, reason: string, tables: string[], statement?: string, error?: AppError): Promise<never> {
    await recordDenial(requesterId, action, reason, tables, statement);
    throw error ?? new AppError('FORBIDDEN', reason, { tables });
  }

  /** The table's rules when `requesterId` may know it exists; NOT_FOUND, the same as for a missing table, otherwise (audited as a denial). */
  async function rulesVisibleTo(table: string, requesterId: string, action: Action): Promise<TableRules> {
    const { rules } = await load(table);
    if (!rules) throw notFound('table', table);
    if (!(await visible(table, requesterId))) return deny(requesterId, action, `${requesterId} may not see '${table}'`, [table], undefined, notFound('table', table));
    return rules;
  }

  function invalidate(table?: string): void {
    if (table === undefined) cache.clear();
    else cache.delete(table);
  }

  /**
   * Takes the table's lock (the one create and drop take) and checks the table is still the one
   * the caller's decision was made on: NOT_FOUND when it was dropped since (this process's
   * metadata cache may not have heard yet), CONFLICT when it was dropped and made again by another owner.
   */
  async function lockUnchanged(tx: Pick<PrismaClient, '$executeRaw' | 'tableMetadata'>, table: string, ownerId: string | null): Promise<void> {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${table}))`;
    const row = await tx.tableMetadata.findUnique({ where: { tableName: table }, select: { ownerId: true } });
    if (row && row.ownerId === ownerId) return;
    invalidate(table);
    throw row ? new AppError('CONFLICT', `table '${table}' was replaced meanwhile; try again`, { table }) : notFound('table', table);
  }

  /** Creates `table` from a validated spec in one transaction: DDL, role grant, metadata, audit, notify. */
  async function createTable(table: string, def: ParsedTableDefinition, accessLevel: 'protected' | 'user', ownerId: string): Promise<{ table: string; created: boolean }> {
    const statements = buildCreateTableSql(table, def);
    const ownerRole = await ensureRole(ownerId);
    const created = await prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${table}))`;
      const existing = await tx.tableMetadata.findUnique({ where: { tableName: table } });
      if (existing) {
        // A retried create of the same table by its owner is a no-op; anything else conflicts.
        if (existing.ownerId === ownerId && isDeepStrictEqual(existing.schemaDefinition, JSON.parse(JSON.stringify(def)))) return false;
        throw new AppError('CONFLICT', `table '${table}' already exists`, { table });
      }
      const [{ relation }] = await tx.$queryRaw<[{ relation: string | null }]>`SELECT to_regclass(${quoteIdentifier(table)})::text AS relation`;
      if (relation !== null) throw new AppError('CONFLICT', `a relation named '${table}' already exists`, { table });
      await tx.$executeRawUnsafe('SET LOCAL standard_conforming_strings = on');
      for (const sql of statements) {
        await tx.$executeRawUnsafe(sql).catch((error: unknown) => {
          // The spec passed zod but PostgreSQL refuses it (e.g. a default the column type cannot hold): the caller's fault.
          const refused = postgresErrorOf(error);
          if (refused && /^(22|42)/.test(refused.state)) throw new AppError('UNPROCESSABLE', `PostgreSQL refused the table definition: ${refused.message}`, { sqlstate: refused.state, table });
          throw error;
        });
      }
      for (const role of new Set([ADMIN_QUERY_ROLE, ownerRole])) {
        await tx.$executeRawUnsafe(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${quoteIdentifier(table)} TO ${role}`);
      }
      await tx.tableMetadata.create({ data: { tableName: table, accessLevel, ownerId, schemaDefinition: asJson(def), isSystem: false } });
      await tx.aclAudit.create({ data: { id: newId(), requesterId: ownerId, action: 'create_table', outcome: 'allowed', tableNames: [table], statement: statements.join(';\n') } });
      await tx.$executeRaw`SELECT pg_notify(${ACL_CHANNEL}, ${table})`;
      return true;
    });
    invalidate(table);
    if (created) events.emit('database.table_created', { table, accessLevel, ownerId, columns: def.columns.map((c) => ({ name: c.name, type: c.type })) }, SOURCE);
    return { table, created };
  }

  /**
   * Drops an ACL-created table after checking `requesterId` may (FORBIDDEN otherwise); `dropped:
   * false` for a missing table and for one the requester may not see (that one audited as a denial).
   */
  async function dropIfOwned(table: string, requesterId: string): Promise<{ table: string; dropped: boolean }> {
    const mayKnow = await visible(table, requesterId);
    const dropped = await prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${table}))`;
      const row = await tx.tableMetadata.findUnique({ where: { tableName: table } });
      if (!row) return false;
      if (!mayKnow) return 'hidden' as const;
      const owner = row.ownerId === requesterId || (row.accessLevel === 'user' && requesterId === 'admin');
      if (row.accessLevel === 'locked' || !owner) return 'denied' as const;
      await tx.$executeRawUnsafe(`DROP TABLE IF EXISTS ${quoteIdentifier(table)}`);
      await tx.tableMetadata.delete({ where: { tableName: table } });
      await tx.aclAudit.create({ data: { id: newId(), requesterId, action: 'drop_table', outcome: 'allowed', tableNames: [table] } });
      await tx.$executeRaw`SELECT pg_notify(${ACL_CHANNEL}, ${table})`;
      return true;
    });
    if (dropped === 'denied') return deny(requesterId, 'drop_table', `only the owner may drop '${table}'`, [table]);
    if (dropped === 'hidden') {
      await recordDenial(requesterId, 'drop_table', `${requesterId} may not see '${table}'`, [table]);
      return { table, dropped: false };
    }
    invalidate(table);
    if (dropped) events.emit('database.table_dropped', { table, requesterId }, SOURCE);
    return { table, dropped };
  }

  /** executeQuery without the metrics: validate, run under the requester's role, bound the rows. */
  async function runQuery(query: string, params: readonly unknown[], requesterId: string): Promise<QueryResult & { kind: QueryAnalysis['kind']; truncated: boolean }> {
    const analysis = await acl.validateQuery(query, requesterId);
    const tables = [...new Set(analysis.access.map((a) => a.table))];
    // A plain read is wrapped so PostgreSQL stops after maxRows + 1 rows or maxResultBytes instead of streaming a huge result here.
    const sql = analysis.readOnly ? guardedReadSql(analysis.statement, maxRows, maxResultBytes) : query;
    let result: QueryResult;
    try {
      result = await runStatement(pool, {
        sql,
        role: await ensureRole(requesterId),
        params: [...params],
        readOnly: analysis.readOnly,
        statementTimeoutMs,
        maxResultBytes,
        ...(analysis.readOnly ? {} : { audit: { requesterId, tables } }),
      });
    } catch (error) {
      if (error instanceof AppError && error.code === 'FORBIDDEN') return deny(requesterId, 'query', error.message, tables, query, error);
      throw error;
    }
    return { kind: analysis.kind, ...result, rows: result.rows.slice(0, maxRows), truncated: result.rows.length > maxRows };
  }

  const acl = {
    /** The metadata of one table (cached); null when the ACL does not know it. */
    async getTableMetadata(tableName: string): Promise<TableMetadata | null> {
      return (await load(tableName)).metadata;
    },

    /**
     * The metadata of one table as `requesterId` may see it, its spec as created (specAsCreated);
     * NOT_FOUND alike for a missing table and one it may not read (admin sees all).
     */
    async describeTable(tableName: string, requesterId: string): Promise<TableMetadata> {
      const { metadata } = await load(tableName);
      if (!metadata || !(await visible(tableName, requesterId))) throw notFound('table', tableName);
      return shown(metadata);
    },

    /** Metadata of every table `requesterId` may read, by name, as describeTable shows it. */
    async listTables(requesterId: string): Promise<TableMetadata[]> {
      const rows = await prisma.tableMetadata.findMany({ orderBy: { tableName: 'asc' }, select: { tableName: true } });
      const visible = await Promise.all(rows.map(async (r) => ((await can(r.tableName, requesterId, 'read')) ? (await load(r.tableName)).metadata : null)));
      return visible.filter((m): m is TableMetadata => m !== null).map(shown);
    },

    /** Whether `requesterId` may read `tableName`; false for unknown tables. */
    canRead: (tableName: string, requesterId: string) => can(tableName, requesterId, 'read'),
    /** Whether `requesterId` may insert into or update `tableName`; never for locked tables. */
    canWrite: (tableName: string, requesterId: string) => can(tableName, requesterId, 'write'),
    /** Whether `requesterId` may delete from `tableName`; never for locked tables. */
    canDelete: (tableName: string, requesterId: string) => can(tableName, requesterId, 'delete'),

    /**
     * Parses `query` and checks every table it touches. Returns the analysis when allowed; throws
     * VALIDATION_FAILED (unparseable) or FORBIDDEN otherwise, after auditing the denial and
     * emitting `database.access_denied`.
     */
    async validateQuery(query: string, requesterId: string): Promise<ValidationResult> {
      await parserReady;
      let analysis: QueryAnalysis;
      try {
        analysis = analyzeQuery(query);
      } catch (error) {
        const appError = error instanceof AppError ? error : new AppError('VALIDATION_FAILED', 'SQL could not be analysed');
        return deny(requesterId, 'query', appError.message, [], query, appError);
      }
      const denied: { table: string; privilege: Privilege }[] = [];
      for (const access of analysis.access) {
        if (!(await can(access.table, requesterId, access.privilege))) denied.push(access);
      }
      if (denied.length > 0) {
        const tables = [...new Set(denied.map((d) => d.table))];
        const reason = `${requesterId} may not ${denied.map((d) => `${d.privilege} ${d.table}`).join(', ')}`;
        return deny(requesterId, 'query', reason, tables, query, new AppError('FORBIDDEN', reason, { denied }));
      }
      return { valid: true, ...analysis };
    },

    /**
     * Validates, then runs one statement with bound parameters under the restricted role, a
     * statement timeout and (for reads) a read-only transaction; writes are audited in the same
     * transaction. At most `maxRows` rows are returned (`truncated` says when more matched); a
     * result over `maxResultBytes` fails RESULT_TOO_LARGE with nothing of it returned.
     */
    async executeQuery(query: string, params: readonly unknown[], requesterId: string): Promise<QueryResult & { kind: QueryAnalysis['kind']; truncated: boolean }> {
      if (!metrics) return runQuery(query, params, requesterId);
      try {
        const result = await runQuery(query, params, requesterId);
        metrics.query(requesterId, 'ok');
        return result;
      } catch (error) {
        metrics.query(requesterId, error instanceof AppError && error.code === 'FORBIDDEN' ? 'denied' : 'error');
        throw error;
      }
    },

    /**
     * Creates `plugin_<pluginId>_<name>` from a zod-validated column spec, owned by `plugin:<pluginId>`
     * (protected), in one transaction; a retry with the same spec is a no-op. Throws
     * VALIDATION_FAILED for a bad spec and CONFLICT when the name is taken.
     */
    async createPluginTable(pluginId: string, tableDef: unknown): Promise<{ table: string; created: boolean }> {
      const id = TablePluginId.parse(pluginId);
      const def = PluginDatabaseTable.parse(tableDef);
      return createTable(pluginTableName(id, def.name), def, 'protected', pluginPrincipal(id));
    },

    /** Drops one of the plugin's tables by its short name (as in the spec); FORBIDDEN when another owns it; a missing table is a no-op. */
    async dropPluginTable(pluginId: string, tableName: string): Promise<{ table: string; dropped: boolean }> {
      const id = TablePluginId.parse(pluginId);
      return dropIfOwned(pluginTableName(id, tableName), pluginPrincipal(id));
    },

    /** Drops every table `plugin:<pluginId>` owns (uninstall); returns their names. */
    async dropPluginTables(pluginId: string): Promise<string[]> {
      const owner = pluginPrincipal(TablePluginId.parse(pluginId));
      const rows = await prisma.tableMetadata.findMany({ where: { ownerId: owner, accessLevel: 'protected' }, select: { tableName: true } });
      for (const row of rows) await dropIfOwned(row.tableName, owner);
      return rows.map((r) => r.tableName);
    },

    /** Creates `user_<name>` owned by `ownerId` (full access for the owner). */
    async createUserTable(ownerId: string, tableDef: unknown): Promise<{ table: string; created: boolean }> {
      const def = PluginDatabaseTable.parse(tableDef);
      return createTable(userTableName(def.name), def, 'user', ownerId);
    },

    /**
     * Drops a table its owner (or admin, for user tables) asks to drop; locked tables never
     * (FORBIDDEN). NOT_FOUND alike for a missing table and one the requester may not see.
     */
    async dropTable(table: string, requesterId: string): Promise<{ table: string; dropped: true }> {
      if (!(await dropIfOwned(table, requesterId)).dropped) throw notFound('table', table);
      return { table, dropped: true };
    },

    /** Grants `privilege` on `table` to a principal; only the owner or admin may, and only what the level allows; NOT_FOUND when the requester may not see the table. */
    async grantAccess(table: string, grant: GrantBody, requesterId: string): Promise<void> {
      const rules = await rulesVisibleTo(table, requesterId, 'grant');
      if (requesterId !== 'admin' && requesterId !== rules.ownerId) return deny(requesterId, 'grant', `only the owner may grant on '${table}'`, [table]);
      if (!GRANTABLE[rules.accessLevel].includes(grant.privilege) || UNREADABLE_TABLES.has(table)) {
        throw new AppError('UNPROCESSABLE', `${grant.privilege} cannot be granted on ${rules.accessLevel} table '${table}'`, { table });
      }
      // Admin and the owner hold their rights by rule and by their roles; only other grantees' roles change.
      const role = grant.grantee === 'admin' || grant.grantee === rules.ownerId ? undefined : await ensureRole(grant.grantee);
      await prisma.$transaction(async (tx) => {
        await lockUnchanged(tx, table, rules.ownerId);
        if (role) await tx.$executeRawUnsafe(`GRANT ${PRIVILEGE_SQL[grant.privilege]} ON ${quoteIdentifier(table)} TO ${role}`);
        await tx.tableGrant.createMany({ data: [{ tableName: table, grantee: grant.grantee, privilege: grant.privilege, grantedBy: requesterId }], skipDuplicates: true });
        await tx.aclAudit.create({ data: { id: newId(), requesterId, action: 'grant', outcome: 'allowed', tableNames: [table], reason: `${grant.privilege} to ${grant.grantee}` } });
        await tx.$executeRaw`SELECT pg_notify(${ACL_CHANNEL}, ${table})`;
      });
      invalidate(table);
    },

    /** Removes a grant (idempotent); only the owner or admin may; NOT_FOUND when the requester may not see the table. */
    async revokeAccess(table: string, grant: GrantBody, requesterId: string): Promise<void> {
      const rules = await rulesVisibleTo(table, requesterId, 'revoke');
      if (requesterId !== 'admin' && requesterId !== rules.ownerId) return deny(requesterId, 'revoke', `only the owner may revoke on '${table}'`, [table]);
      const role = grant.grantee === 'admin' || grant.grantee === rules.ownerId ? undefined : await ensureRole(grant.grantee);
      await prisma.$transaction(async (tx) => {
        await lockUnchanged(tx, table, rules.ownerId);
        if (role) await tx.$executeRawUnsafe(`REVOKE ${PRIVILEGE_SQL[grant.privilege]} ON ${quoteIdentifier(table)} FROM ${role}`);
        await tx.tableGrant.deleteMany({ where: { tableName: table, grantee: grant.grantee, privilege: grant.privilege } });
        await tx.aclAudit.create({ data: { id: newId(), requesterId, action: 'revoke', outcome: 'allowed', tableNames: [table], reason: `${grant.privilege} from ${grant.grantee}` } });
        await tx.$executeRaw`SELECT pg_notify(${ACL_CHANNEL}, ${table})`;
      });
      invalidate(table);
    },

    /** The audit trail, newest first (denials, table changes, grants, executed writes). */
    async listAudit(query: AuditQuery) {
      return prisma.aclAudit.findMany({
        where: { ...(query.requesterId ? { requesterId: query.requesterId } : {}), ...(query.outcome ? { outcome: query.outcome } : {}) },
        orderBy: { createdAt: 'desc' },
        take: query.limit,
      });
    },

    /**
     * Gives the query role SELECT on every existing locked table (except credentials), so locked
     * tables that later migrations add are readable by admin as migration 0003's were. Idempotent.
     */
    async syncQueryRoleGrants(): Promise<string[]> {
      // Serialised: concurrent GRANTs on one table fail with "tuple concurrently updated", and the API and worker start together.
      return prisma.$transaction(async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(727003)`;
        const rows = await tx.$queryRaw<{ name: string }[]>`
          SELECT m.table_name AS name FROM table_metadata m
          JOIN pg_class c ON c.relname = m.table_name AND c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
          WHERE m.access_level = 'locked' AND NOT has_table_privilege(${ADMIN_QUERY_ROLE}, c.oid, 'SELECT')`;
        const granted = rows.map((r) => r.name).filter((name) => !UNREADABLE_TABLES.has(name));
        for (const name of granted) await tx.$executeRawUnsafe(`GRANT SELECT ON ${quoteIdentifier(name)} TO ${ADMIN_QUERY_ROLE}`);
        return granted;
      });
    },

    /** Forgets cached metadata for one table or all (NOTIFY from another process, or a lost listener connection). */
    invalidate,
  };
  return acl;
}
export type DatabaseAcl = ReturnType<typeof createDatabaseAcl>;
