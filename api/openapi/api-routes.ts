import { aclRoutes, dbRoutes } from '../routes/acl-routes';
import { eventsRoutes } from '../routes/events-routes';
import { healthRoutes } from '../routes/health-routes';
import { keysRoutes } from '../routes/keys-routes';
import { plansRoutes } from '../routes/plans-routes';
import { pluginsRoutes } from '../routes/plugins-routes';
import { resourcesRoutes } from '../routes/resources-routes';
import { customToolsRoutes, toolsRoutes } from '../routes/tools-routes';
import { triggersRoutes, webhooksRoutes } from '../routes/triggers-routes';
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
  pluginsRoutes,
  eventsRoutes,
  toolsRoutes,
  customToolsRoutes,
  resourcesRoutes,
  triggersRoutes,
  webhooksRoutes,
];
