/**
 * Fleet leases against the real PostgreSQL, two "workers" in one process (each its own pool, limiters and
 * leases, as two processes have): callers on both keep an endpoint busy, and the requests in flight across both
 * never pass the declared limit — while the second arrives, while they share, and after one of them loses
 * PostgreSQL and its lease lapses. Real worker processes: test/integration/runs/fleetLimits.test.ts.
 */
import type { Pool } from 'pg';
import { EndpointLimiters, type EndpointLimiter } from '../../../activities/models/endpointLimiter';
import { FleetLeases } from '../../../activities/models/fleetLeases';
import { configFrom } from '../../../common/config';
import { createPool } from '../../../common/db';
import { liveLeases } from '../../../domain/fleet/dal';
import { fleetEndpointKey } from '../../../domain/fleet/share';
import type { EndpointSpec } from '../../../domain/models/types';
import { migrate } from '../../../schema/migrate';
import { unique } from '../../../testkit/stack';

const LEASE_MS = 1200;
const LIMIT = 8;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Worker {
  pool: Pool;
  fleet: FleetLeases;
  limiters: EndpointLimiters;
  limiter: EndpointLimiter;
}

const config = configFrom({});
const pools: Pool[] = [];
/** Started in a test, stopped after it even when it fails. */
const loads: Load[] = [];
const fleets: FleetLeases[] = [];
let endpoint: EndpointSpec;
let observer: Pool;

function startWorker(): Worker {
  const pool = createPool(config);
  pools.push(pool);
  const fleet = new FleetLeases({ pool, leaseMs: LEASE_MS });
  fleets.push(fleet);
  const limiters = new EndpointLimiters({}, fleet);
  return { pool, fleet, limiters, limiter: limiters.forEndpoint(endpoint, 64) };
}

/** What the endpoint would see: requests in flight across every worker, and the most at once. */
const seen = { inFlight: 0, max: 0, byWorker: new Map<Worker, number>() };

interface Load {
  stop(): Promise<void>;
}

/** `callers` loops of admit → a 15 ms "request" → release, until stopped (a caller still waiting gives up). */
function load(worker: Worker, callers: number): Load {
  const stopping = new AbortController();
  const running = Promise.all(
    Array.from({ length: callers }, async () => {
      for (;;) {
        const limiter = worker.limiters.forEndpoint(endpoint, 64);
        const admitted = await limiter.admit(stopping.signal);
        if (admitted === false) return;
        if (admitted !== true) throw new Error(`not admitted: ${admitted}`);
        seen.inFlight++;
        seen.max = Math.max(seen.max, seen.inFlight);
        seen.byWorker.set(worker, Math.max(seen.byWorker.get(worker) ?? 0, limiter.semaphore.inFlight));
        const sentAt = limiter.sent();
        await sleep(15);
        seen.inFlight--;
        limiter.replied(sentAt, 'ok');
        limiter.release();
        if (stopping.signal.aborted) return;
      }
    }),
  );
  const started = {
    async stop() {
      stopping.abort();
      await running;
    },
  };
  loads.push(started);
  return started;
}

async function until(check: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(20);
  }
}

beforeAll(async () => {
  observer = createPool(config);
  await migrate(observer);
});
beforeEach(() => {
  endpoint = { protocol: 'json-predict', url: `http://${unique('fleet')}.internal/predict`, maxConcurrency: LIMIT };
  seen.inFlight = seen.max = 0;
  seen.byWorker.clear();
});
afterEach(async () => {
  await Promise.all(loads.splice(0).map((started) => started.stop()));
  await Promise.all(fleets.splice(0).map((fleet) => fleet.close()));
});
afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.end().catch(() => undefined)));
  await observer.end();
});

it('gives a worker alone the whole limit within one transaction', async () => {
  const a = startWorker();
  const started = Date.now();
  const first = await a.limiter.admit();
  expect(first).toBe(true);
  expect(Date.now() - started).toBeLessThan(1000);
  expect(a.limiter.semaphore.limit).toBe(LIMIT);
  a.limiter.release();
  await a.fleet.close();
  // Closing gives the lease back at once.
  expect(await liveLeases(observer, fleetEndpointKey(endpoint))).toEqual([]);
}, 30_000);

it('never lets two busy workers pass the limit together, and splits it evenly', async () => {
  const a = startWorker();
  const b = startWorker();
  const key = fleetEndpointKey(endpoint);
  let maxGranted = 0;
  const watching = { stopped: false };
  const watch = (async () => {
    while (!watching.stopped) {
      const leases = await liveLeases(observer, key);
      maxGranted = Math.max(
        maxGranted,
        leases.reduce((sum, lease) => sum + lease.concurrency, 0),
      );
      await sleep(25);
    }
  })();
  const loadA = load(a, 12);
  await until(() => a.limiter.semaphore.inFlight === LIMIT, 5_000);
  const loadB = load(b, 12);
  // Both busy: within a few renewals each holds half.
  await until(() => a.limiter.stats().fleetShare === 4 && b.limiter.stats().fleetShare === 4, 10 * LEASE_MS);
  seen.byWorker.clear();
  await sleep(2 * LEASE_MS);
  expect(seen.byWorker.get(a)).toBe(4);
  expect(seen.byWorker.get(b)).toBe(4);

  // a stops: b takes the whole limit back once a's idle lease goes.
  await loadA.stop();
  await until(() => b.limiter.stats().fleetShare === LIMIT, 10 * LEASE_MS);
  await loadB.stop();
  watching.stopped = true;
  await watch;
  expect(seen.max).toBeLessThanOrEqual(LIMIT);
  expect(seen.max).toBe(LIMIT);
  expect(maxGranted).toBeLessThanOrEqual(LIMIT);
  await a.fleet.close();
  await b.fleet.close();
}, 60_000);

it('stops a worker that lost PostgreSQL before its share is handed on, and hands it on when its lease expires', async () => {
  const a = startWorker();
  const b = startWorker();
  const loadA = load(a, 12);
  const loadB = load(b, 12);
  await until(() => a.limiter.stats().fleetShare === 4 && b.limiter.stats().fleetShare === 4, 10 * LEASE_MS);
  // a's database goes away (its callers keep trying): its share lapses, and only then b gets the whole limit.
  await a.pool.end();
  await until(() => b.limiter.stats().fleetShare === LIMIT, 10 * LEASE_MS);
  expect(a.limiter.stats().fleetShare).toBe(0);
  expect(a.limiter.semaphore.inFlight).toBe(0);
  await Promise.all([loadA.stop(), loadB.stop()]);
  expect(seen.max).toBeLessThanOrEqual(LIMIT);
  await b.fleet.close();
  await a.fleet.close();
}, 60_000);
