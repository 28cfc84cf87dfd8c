import { permanentFailures } from '../activity-failure';
import type { DatabaseAcl } from './acl-service';

export interface AclActivityDeps {
  acl: Pick<DatabaseAcl, 'createPluginTable' | 'dropPluginTable' | 'dropPluginTables' | 'getTableMetadata' | 'executeQuery'>;
}

/** ACL activities for workflows (plugin install/uninstall): idempotent, so Temporal retries are safe. */
export function createAclActivities({ acl }: AclActivityDeps) {
  return {
    /** Creates a plugin's table (no-op when the same spec already exists). */
    aclCreatePluginTable: (pluginId: string, tableDef: unknown) => permanentFailures(() => acl.createPluginTable(pluginId, tableDef)),
    /** Drops one plugin table by short name (no-op when absent): the compensation of aclCreatePluginTable. */
    aclDropPluginTable: (pluginId: string, tableName: string) => permanentFailures(() => acl.dropPluginTable(pluginId, tableName)),
    /** Drops every table a plugin owns (uninstall). */
    aclDropPluginTables: (pluginId: string) => permanentFailures(() => acl.dropPluginTables(pluginId)),
    /** Runs one statement through the ACL as `requesterId`. */
    aclExecuteQuery: (sql: string, params: unknown[], requesterId: string) => permanentFailures(() => acl.executeQuery(sql, params, requesterId)),
  };
}
export type AclActivities = ReturnType<typeof createAclActivities>;
