import { ApplicationFailure } from '@temporalio/activity';
import { AppError } from '../../platform/errors';
import type { DatabaseAcl } from './acl-service';

export interface AclActivityDeps {
  acl: Pick<DatabaseAcl, 'createPluginTable' | 'dropPluginTable' | 'dropPluginTables' | 'executeQuery'>;
}

/** AppErrors a retry cannot fix become non-retryable failures typed by their code. */
async function permanent<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof AppError && error.code !== 'INTERNAL' && error.code !== 'UNAVAILABLE') {
      throw ApplicationFailure.create({ type: error.code, message: error.message, details: [error.details], nonRetryable: true });
    }
    if (error instanceof Error && error.name === 'ZodError') {
      throw ApplicationFailure.create({ type: 'VALIDATION_FAILED', message: error.message, nonRetryable: true });
    }
    throw error;
  }
}

/** ACL activities for workflows (plugin install/uninstall): idempotent, so Temporal retries are safe. */
export function createAclActivities({ acl }: AclActivityDeps) {
  return {
    /** Creates a plugin's table (no-op when the same spec already exists). */
    aclCreatePluginTable: (pluginId: string, tableDef: unknown) => permanent(() => acl.createPluginTable(pluginId, tableDef)),
    /** Drops one plugin table by short name (no-op when absent): the compensation of aclCreatePluginTable. */
    aclDropPluginTable: (pluginId: string, tableName: string) => permanent(() => acl.dropPluginTable(pluginId, tableName)),
    /** Drops every table a plugin owns (uninstall). */
    aclDropPluginTables: (pluginId: string) => permanent(() => acl.dropPluginTables(pluginId)),
    /** Runs one statement through the ACL as `requesterId`. */
    aclExecuteQuery: (sql: string, params: unknown[], requesterId: string) => permanent(() => acl.executeQuery(sql, params, requesterId)),
  };
}
export type AclActivities = ReturnType<typeof createAclActivities>;
