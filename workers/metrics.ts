/**
 * A worker's own series, served on /metrics (EVALGATE_WORKER_METRICS_HOST/PORT) for Prometheus:
 *   evalgate_worker_activity_slots{task_queue}            activity slots of each task queue's worker
 *   evalgate_worker_activity_slots_in_use{task_queue}     activities running now
 *   evalgate_endpoint_in_flight{endpoint}                 model requests holding a permit
 *   evalgate_endpoint_queued{endpoint}                    calls waiting for a permit
 *   evalgate_endpoint_limit{endpoint}                     the adaptive concurrency limit now
 *   evalgate_endpoint_max_limit{endpoint}                 the declared limit it may grow back to
 *   evalgate_endpoint_paused{endpoint}                    1 while a Retry-After pause holds admissions
 *   evalgate_endpoint_circuit_open{endpoint}              1 while the endpoint is taken for down (calls fail at once)
 *   evalgate_endpoint_decreases_total{endpoint}           times the limit was lowered (429/503 or latency)
 *   evalgate_endpoint_fleet_share{endpoint}               this worker's share of the declared limit, shared by all workers
 *   evalgate_endpoint_fleet_rps{endpoint}                 this worker's share of the declared maxRps (when one is declared)
 *   evalgate_endpoint_paced_rps{endpoint}                 the adaptive rate it is paced at after refusals (0: not paced)
 * Endpoint labels carry no credentials or query strings (endpointLabel).
 */
import { createServer, type Server } from 'node:http';
import type { Worker } from '@temporalio/worker';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { EndpointLimiters } from '../activities/models/endpointLimiter';
import type { Logger } from '../common/logger';

export function workerRegistry(workers: Worker[], limiters: EndpointLimiters): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'evalgate_worker_' });
  const perQueue = (name: string, help: string, value: (w: Worker) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['task_queue'],
      registers: [registry],
      collect() {
        for (const w of workers) this.set({ task_queue: w.options.taskQueue }, value(w));
      },
    });
  perQueue('evalgate_worker_activity_slots', 'Activity slots of the worker', (w) =>
    Number(w.options.maxConcurrentActivityTaskExecutions ?? 0),
  );
  perQueue(
    'evalgate_worker_activity_slots_in_use',
    'Activities running now',
    (w) => w.getStatus().numInFlightActivities,
  );
  const perEndpoint = (
    name: string,
    help: string,
    value: (e: ReturnType<EndpointLimiters['stats']>[number]) => number | undefined,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ['endpoint'],
      registers: [registry],
      collect() {
        this.reset();
        for (const e of limiters.stats()) {
          const v = value(e);
          if (v !== undefined) this.set({ endpoint: e.endpoint }, v);
        }
      },
    });
  perEndpoint('evalgate_endpoint_in_flight', 'Model requests holding a permit', (e) => e.inFlight);
  perEndpoint('evalgate_endpoint_queued', 'Model calls waiting for a permit', (e) => e.queued);
  perEndpoint('evalgate_endpoint_limit', 'Adaptive concurrency limit now', (e) => e.limit);
  perEndpoint('evalgate_endpoint_max_limit', 'Declared concurrency limit', (e) => e.maxLimit);
  perEndpoint('evalgate_endpoint_paused', '1 while a Retry-After pause holds admissions', (e) => (e.paused ? 1 : 0));
  perEndpoint('evalgate_endpoint_circuit_open', '1 while calls fail at once (endpoint down)', (e) =>
    e.circuit === 'closed' ? 0 : 1,
  );
  perEndpoint('evalgate_endpoint_decreases_total', 'Times the concurrency limit was lowered', (e) => e.decreases);
  perEndpoint(
    'evalgate_endpoint_fleet_share',
    "This worker's share of the endpoint's declared concurrency limit (shared by all workers)",
    (e) => e.fleetShare,
  );
  perEndpoint(
    'evalgate_endpoint_fleet_rps',
    "This worker's share of the endpoint's declared maxRps",
    (e) => e.fleetRps,
  );
  perEndpoint(
    'evalgate_endpoint_paced_rps',
    'Adaptive request rate after refusals (0: not paced)',
    (e) => e.pacedRps ?? 0,
  );
  return registry;
}

/** Serves the registry on /metrics; a port already taken (another worker on the machine) is logged, not fatal. */
export function serveWorkerMetrics(registry: Registry, host: string, port: number, logger: Logger): Server | undefined {
  if (port === 0) return undefined;
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: Error) => res.writeHead(500).end(err.message),
    );
  });
  server.on('error', (err) => logger.warn({ err: err.message, host, port }, 'worker metrics not served'));
  server.listen(port, host, () => logger.info({ host, port }, 'worker metrics on /metrics'));
  server.unref();
  return server;
}
