import { aclRoutes, dbRoutes } from '../routes/acl-routes';
import { healthRoutes } from '../routes/health-routes';
import { keysRoutes } from '../routes/keys-routes';
import { plansRoutes } from '../routes/plans-routes';
import { systemRoutes } from './docs-router';
import type { RouteGroup } from './route-spec';

/** Every router's routes with its mount path: the source of /api/v1/openapi.json (a test checks it matches the app). */
export const API_ROUTE_GROUPS: readonly RouteGroup[] = [
  systemRoutes,
  healthRoutes,
  keysRoutes,
  aclRoutes,
  dbRoutes,
  plansRoutes,
];
