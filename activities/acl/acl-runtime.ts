import type { PrismaClient } from '../../platform/database';
import { listenForNotifications } from '../../platform/pg-notify-listener';
import { createSqlPool } from '../../platform/sql-pool';
import type { EventPublisher } from '../events/event-types';
import { ACL_CHANNEL, createDatabaseAcl, type AclMetricsSink } from './acl-service';

export interface AclRuntimeOptions {
  prisma: PrismaClient;
  databaseUrl: string;
  events: EventPublisher;
  statementTimeoutMs: number;
  maxResultBytes: number;
  metrics?: AclMetricsSink;
}

/** The ACL of one process: its SQL pool, the query role's grants on locked tables, and a NOTIFY listener that keeps its cache in step with other processes. */
export async function startDatabaseAcl({ prisma, databaseUrl, events, statementTimeoutMs, maxResultBytes, metrics }: AclRuntimeOptions) {
  const pool = createSqlPool(databaseUrl);
  const acl = createDatabaseAcl({ prisma, pool, events, statementTimeoutMs, maxResultBytes, metrics });
  await acl.syncQueryRoleGrants();
  const listener = await listenForNotifications(databaseUrl, [ACL_CHANNEL], (_channel, table) => acl.invalidate(table));
  return {
    acl,
    async close(): Promise<void> {
      await listener.close();
      await pool.end();
    },
  };
}
