/**
 * What plugin A tries against plugin B through the API with its own key. `{victim}` is B's id,
 * `{victimTable}` B's table, `{victimTool}` one of B's ordinary tools, `{victimHandler}` B's
 * subscription handler (it writes its `event` argument into B's table). Every request must be refused
 * with the status given and leave B's footprint (tables, rows, tools, subscriptions, storage)
 * exactly as it was. B's table routes answer 404: a table A may not read must look like a missing one.
 */
export type CrossPluginAttack = [label: string, method: 'get' | 'post' | 'put' | 'patch' | 'delete', path: string, body: unknown, status: number];

/** The corpus: B's plugin record, config, lifecycle, storage, tables, grants, tools and event namespace. */
export const CROSS_PLUGIN_ATTACKS: CrossPluginAttack[] = [
  ['read B', 'get', '/api/v1/plugins/{victim}', undefined, 403],
  ['uninstall B', 'delete', '/api/v1/plugins/{victim}', undefined, 403],
  ['disable B', 'post', '/api/v1/plugins/{victim}/disable', undefined, 403],
  ['enable B', 'post', '/api/v1/plugins/{victim}/enable', undefined, 403],
  ['reconfigure B', 'put', '/api/v1/plugins/{victim}/config', { config: { level: 9 } }, 403],
  ['read a key of B', 'get', '/api/v1/plugins/{victim}/storage/secret', undefined, 403],
  ['list B storage', 'get', '/api/v1/plugins/{victim}/storage', undefined, 403],
  ['overwrite a key of B', 'put', '/api/v1/plugins/{victim}/storage/secret', { value: 0 }, 403],
  ['delete a key of B', 'delete', '/api/v1/plugins/{victim}/storage/secret', undefined, 403],
  ['clear B storage', 'delete', '/api/v1/plugins/{victim}/storage', undefined, 403],
  ['path traversal into B storage', 'get', '/api/v1/plugins/{attacker}/storage/..%2F..%2F{victim}%2Fstorage%2Fsecret', undefined, 404],
  ['install over B', 'post', '/api/v1/plugins', '{victimManifest}', 403],
  ['read B table metadata', 'get', '/api/v1/acl/tables/{victimTable}', undefined, 404],
  ['drop B table', 'delete', '/api/v1/acl/tables/{victimTable}', undefined, 404],
  ['grant itself read on B table', 'post', '/api/v1/acl/tables/{victimTable}/grants', { grantee: 'plugin:{attacker}', privilege: 'read' }, 404],
  ['revoke B grants', 'delete', '/api/v1/acl/tables/{victimTable}/grants', { grantee: 'plugin:{victim}', privilege: 'read' }, 404],
  ['select from B table', 'post', '/api/v1/db/query', { sql: 'SELECT * FROM {victimTable}' }, 403],
  ['delete from B table', 'post', '/api/v1/db/query', { sql: 'DELETE FROM {victimTable}' }, 403],
  ['insert into B table', 'post', '/api/v1/db/query', { sql: "INSERT INTO {victimTable} (k, v) VALUES ('x', '{}')" }, 403],
  ['quoted B table name', 'post', '/api/v1/db/query', { sql: 'SELECT * FROM "{victimTable}"' }, 403],
  ['disable B tool', 'post', '/api/v1/tools/{victimTool}/disable', undefined, 403],
  ['enable B tool', 'post', '/api/v1/tools/{victimTool}/enable', undefined, 403],
  ['unregister B tool', 'delete', '/api/v1/tools/{victimTool}', undefined, 403],
  ['see B tool', 'get', '/api/v1/tools/{victimTool}', undefined, 404],
  ['run B tool', 'post', '/api/v1/tools/{victimTool}/execute', { args: { n: 1 } }, 403],
  ['run B subscription handler with a forged event', 'post', '/api/v1/tools/{victimHandler}/execute', { args: { event: { id: 'forged-by-a', data: { evil: true } } } }, 403],
  ['save a plan that runs B tool', 'post', '/api/v1/plans', { name: 'via-plan', steps: [{ id: 's', kind: 'tool', tool: '{victimTool}', args: { n: 1 } }] }, 403],
  ['save a plan compensating with B handler', 'post', '/api/v1/plans', { name: 'via-undo', steps: [{ id: 's', kind: 'tool', tool: 'core.echo', args: {}, compensation: { tool: '{victimHandler}', args: { event: { id: 'forged-by-a-undo' } } } }] }, 403],
  ['save a trigger that runs B handler', 'post', '/api/v1/triggers', { name: 'via-trigger', type: 'event', config: { pattern: 'plugin.{attacker}.*' }, action: { kind: 'tool', tool: '{victimHandler}', args: { event: { id: 'forged-by-a-trigger' } } } }, 403],
  ['emit in B namespace', 'post', '/api/v1/events', { type: 'plugin.{victim}.fake', data: {} }, 403],
  ['read B event history', 'get', '/api/v1/events?category=plugin&type=plugin.{victim}.fake', undefined, 403],
  ['create a user table as a plugin', 'post', '/api/v1/acl/tables', { name: 'sneaky', columns: [{ name: 'a', type: 'text' }] }, 403],
  ['list API keys', 'get', '/api/v1/keys', undefined, 403],
  ['mint an admin key', 'post', '/api/v1/keys', { name: 'x', principal: 'admin' }, 403],
];
