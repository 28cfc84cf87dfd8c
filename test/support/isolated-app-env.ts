import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { newId } from '../../platform/ids';
import { freePort } from '../../platform/local/ports';
import { stackInfo } from './stack-info';
import { scratchNamespace } from './temporal-namespace';

export interface IsolatedAppEnv {
  /** Environment for startAppProcess('api/main.ts' | 'workers/main.ts', env, ...); the same env restarts the same API. */
  env: Record<string, string>;
  apiUrl: string;
  namespace: string;
  adminKey: string;
}

/**
 * Environment for real API and worker processes on `databaseUrl` and a Temporal namespace of
 * their own (so the API's startup reconcile sees only their schedules): own task queue, free
 * ports, data under `dataDir`, a bootstrap admin key and a fixed secrets key.
 */
export async function isolatedAppEnv(databaseUrl: string, dataDir: string, prefix: string): Promise<IsolatedAppEnv> {
  const namespace = await scratchNamespace(stackInfo().temporalAddress, prefix);
  const apiPort = await freePort();
  const adminKey = `${prefix}-admin-${newId(20)}`;
  const env = {
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: stackInfo().temporalAddress,
    TEMPORAL_NAMESPACE: namespace,
    TEMPORAL_TASK_QUEUE: `${prefix}-${newId(8)}`,
    API_PORT: String(apiPort),
    WORKER_METRICS_PORT: String(await freePort()),
    OWNPILOT_ADMIN_KEY: adminKey,
    OWNPILOT_SECRETS_KEY: randomBytes(32).toString('hex'),
    OWNPILOT_DATA_DIR: path.join(dataDir, 'data'),
    SHUTDOWN_TIMEOUT_MS: '5000',
  };
  return { env, apiUrl: `http://127.0.0.1:${apiPort}`, namespace, adminKey };
}
