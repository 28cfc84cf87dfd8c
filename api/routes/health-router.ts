import { Router } from 'express';

export interface HealthProbes {
  postgres(): Promise<unknown>;
  temporal(): Promise<unknown>;
  /** Workers polling the task queue; absent where the app has no task queue to watch. */
  workers?(): Promise<number>;
}

async function probe(check: () => Promise<unknown>): Promise<{ ok: boolean; error?: string }> {
  try {
    await check();
    return { ok: true };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

/** How many workers poll, or why that could not be read. */
async function countWorkers(count: () => Promise<number>): Promise<{ ok: boolean; polling?: number; error?: string }> {
  try {
    const polling = await count();
    return polling > 0 ? { ok: true, polling } : { ok: false, polling, error: 'no worker polls the task queue: plan runs and triggers wait until one does' };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * GET /health: 200 when PostgreSQL and Temporal both answer, 503 naming the one that does not.
 * Workers are reported (status `degraded` when none polls) without failing the API's own health:
 * the API serves without them, and a deployment may start it first.
 */
export function healthRouter(probes: HealthProbes): Router {
  const router = Router();
  router.get('/', async (_req, res) => {
    const [postgres, temporal, workers] = await Promise.all([probe(probes.postgres), probe(probes.temporal), probes.workers && countWorkers(probes.workers)]);
    const ok = postgres.ok && temporal.ok;
    res.status(ok ? 200 : 503).json({ status: ok && workers?.ok !== false ? 'ok' : 'degraded', postgres, temporal, ...(workers ? { workers } : {}) });
  });
  return router;
}
