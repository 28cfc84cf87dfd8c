import { Router } from 'express';
import { QueryBody } from '../../activities/acl/acl-schemas';
import type { DatabaseAcl } from '../../activities/acl/acl-service';
import { parse, principalOf } from '../validate';

/** /api/v1/db/query: one SQL statement through the ACL as the caller. */
export function dbRouter(acl: DatabaseAcl): Router {
  const router = Router();
  router.post('/query', async (req, res) => {
    const { sql, params } = parse(QueryBody, req.body);
    res.json(await acl.executeQuery(sql, params, principalOf(req)));
  });
  return router;
}
