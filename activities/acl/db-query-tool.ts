import { z } from 'zod';
import { defineTool, type BuiltinTool } from '../tools/tool-types';
import { QueryBody } from './acl-schemas';
import type { DatabaseAcl } from './acl-service';

/** `core.db.query`: runs one SQL statement through the database ACL as the calling principal. */
export function createDbQueryTool(acl: Pick<DatabaseAcl, 'executeQuery'>): BuiltinTool<QueryBody> {
  return defineTool({
    definition: {
      name: 'core.db.query',
      description: 'Runs one SQL statement (SELECT/INSERT/UPDATE/DELETE with $1.. parameters) on the tables the caller may access',
      category: 'database',
      parameters: z.toJSONSchema(QueryBody, { io: 'input' }) as Record<string, unknown>,
      tags: ['database', 'sql'],
    },
    args: QueryBody,
    execute: ({ sql, params }, context) => acl.executeQuery(sql, params, context.requesterId),
  });
}
