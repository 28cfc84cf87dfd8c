import { Router } from 'express';
import { AuditQuery, CreateUserTableBody, GrantBody, TableNameParams } from '../../activities/acl/acl-schemas';
import type { DatabaseAcl } from '../../activities/acl/acl-service';
import { requireAdmin, requirePrincipal } from '../auth-middleware';
import { parse, principalOf } from '../validate';

/**
 * /api/v1/acl: table metadata the caller may read, user tables (create/drop), grants, and the audit
 * trail (admin). A table the caller may not read answers as a missing one on every route.
 */
export function aclRouter(acl: DatabaseAcl): Router {
  const router = Router();
  router.get('/tables', async (req, res) => {
    res.json({ tables: await acl.listTables(principalOf(req)) });
  });
  router.get('/tables/:name', async (req, res) => {
    res.json(await acl.describeTable(parse(TableNameParams, req.params).name, principalOf(req)));
  });
  router.post('/tables', requirePrincipal('user', 'admin'), async (req, res) => {
    res.status(201).json(await acl.createUserTable(principalOf(req), parse(CreateUserTableBody, req.body)));
  });
  router.delete('/tables/:name', async (req, res) => {
    res.json(await acl.dropTable(parse(TableNameParams, req.params).name, principalOf(req)));
  });
  router.post('/tables/:name/grants', async (req, res) => {
    await acl.grantAccess(parse(TableNameParams, req.params).name, parse(GrantBody, req.body), principalOf(req));
    res.status(204).end();
  });
  router.delete('/tables/:name/grants', async (req, res) => {
    await acl.revokeAccess(parse(TableNameParams, req.params).name, parse(GrantBody, req.body), principalOf(req));
    res.status(204).end();
  });
  router.get('/audit', requireAdmin, async (req, res) => {
    res.json({ entries: await acl.listAudit(parse(AuditQuery, req.query)) });
  });
  return router;
}
