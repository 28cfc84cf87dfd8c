import type { Privilege } from './acl-schemas';
import { UNREADABLE_TABLES } from './sql-allow-lists';

/** The access levels of table_metadata. */
export type AccessLevel = 'locked' | 'protected' | 'user';

/** What a decision needs to know about one table. */
export interface TableRules {
  name: string;
  accessLevel: AccessLevel;
  /** The owning principal: `plugin:<id>` for protected tables, the creator for user tables. */
  ownerId: string | null;
  /** Explicit grants: principal → privileges. */
  grants: ReadonlyMap<string, ReadonlySet<Privilege>>;
}

/** The privileges a grant may give at each level: nobody writes locked tables, only the owner writes protected ones. */
export const GRANTABLE: Record<AccessLevel, readonly Privilege[]> = {
  locked: ['read'],
  protected: ['read'],
  user: ['read', 'write', 'delete'],
};

/**
 * Whether `requesterId` holds `privilege` on a table:
 * - locked: read for admin or a read grant; never write or delete; credentials never at all;
 * - protected: everything for the owning plugin; read for admin or a read grant;
 * - user: everything for the owner and admin; otherwise per grant.
 */
export function isAllowed(table: TableRules, requesterId: string, privilege: Privilege): boolean {
  if (UNREADABLE_TABLES.has(table.name)) return false;
  const granted = table.grants.get(requesterId)?.has(privilege) === true && GRANTABLE[table.accessLevel].includes(privilege);
  switch (table.accessLevel) {
    case 'locked':
      return privilege === 'read' && (requesterId === 'admin' || granted);
    case 'protected':
      return requesterId === table.ownerId || (privilege === 'read' && requesterId === 'admin') || granted;
    case 'user':
      return requesterId === table.ownerId || requesterId === 'admin' || granted;
  }
}
