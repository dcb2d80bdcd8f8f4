import type { NextFunction, Request, Response } from 'express';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The API's Prometheus registry; features register their own series on it. */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'evalgate_api_' });
  return registry;
}

export function httpMetrics(registry: Registry) {
  const requests = new Counter({
    name: 'evalgate_http_requests_total',
    help: 'HTTP requests by route, method and status',
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'evalgate_http_request_duration_seconds',
    help: 'HTTP request latency by route and method',
    labelNames: ['route', 'method'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  return (req: Request, res: Response, next: NextFunction) => {
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      // The matched route pattern, never the raw path: ids would explode the label set.
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      requests.inc({ route, method: req.method, status: String(res.statusCode) });
      latency.observe({ route, method: req.method }, Number(process.hrtime.bigint() - start) / 1e9);
    });
    next();
  };
}

/**
 * One load shared by the gauges of one scrape: the first collect() starts it, the others within
 * `maxAgeMs` reuse it (prom-client collects every gauge of a render at once). A failed load is not kept.
 */
export function sharedPerScrape<T>(load: () => Promise<T>, maxAgeMs = 1000): () => Promise<T> {
  let pending: { at: number; value: Promise<T> } | undefined;
  return () => {
    if (!pending || Date.now() - pending.at > maxAgeMs) {
      const value = load();
      pending = { at: Date.now(), value };
      value.catch(() => (pending = undefined));
    }
    return pending.value;
  };
}
