import { Router, type RequestHandler } from 'express';
import type { Pool } from 'pg';
import type { Registry } from 'prom-client';
import { ping } from '../../common/db';
import type { Storage } from '../../common/storage';

export interface ReadinessProbe {
  name: string;
  check(): Promise<void>;
}

export function healthRouter(deps: {
  pool: Pool;
  storage: Storage;
  temporalHealth: () => Promise<void>;
  registry: Registry;
  /** GET /metrics: authenticated and cached (api/features/operations/scrape.ts). */
  scrape: RequestHandler;
}): Router {
  const router = Router();
  const probes: ReadinessProbe[] = [
    { name: 'postgres', check: () => ping(deps.pool) },
    { name: 'temporal', check: deps.temporalHealth },
    { name: 'objectStorage', check: () => deps.storage.ping() },
  ];

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async (req, res) => {
    const results = await Promise.all(
      probes.map(async (probe) => {
        try {
          await withTimeout(probe.check(), 2_000);
          return [probe.name, 'ok'] as const;
        } catch (err) {
          req.log.warn({ err, probe: probe.name }, 'readiness probe failed');
          return [probe.name, 'unreachable'] as const;
        }
      }),
    );
    const ready = results.every(([, state]) => state === 'ok');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks: Object.fromEntries(results) });
  });

  router.get('/metrics', deps.scrape);
  return router;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
