import { Router } from 'express';

export interface HealthProbes {
  postgres(): Promise<unknown>;
  temporal(): Promise<unknown>;
}

async function probe(check: () => Promise<unknown>): Promise<{ ok: boolean; error?: string }> {
  try {
    await check();
    return { ok: true };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

/** GET /health: 200 when PostgreSQL and Temporal both answer, 503 naming the one that does not. */
export function healthRouter(probes: HealthProbes): Router {
  const router = Router();
  router.get('/', async (_req, res) => {
    const [postgres, temporal] = await Promise.all([probe(probes.postgres), probe(probes.temporal)]);
    const ok = postgres.ok && temporal.ok;
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'degraded', postgres, temporal });
  });
  return router;
}
