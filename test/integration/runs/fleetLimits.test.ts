/**
 * An endpoint's maxConcurrency and maxRps hold for the whole fleet, not per worker: two and then three real
 * worker processes (workers/main.ts), each of which alone would send more than the declared limit (two shard
 * slots of 8 lanes each), run evals against one endpoint; the model server never sees more than the limit in
 * flight, nor much more than the declared rate, and the runs succeed with exact results. A SIGKILLed worker's
 * share comes back to the survivor once its lease expires.
 */
import type { ChildProcess } from 'node:child_process';
import { taskQueueFor } from '../../../common/names';
import { liveLeases } from '../../../domain/fleet/dal';
import { fleetEndpointKey } from '../../../domain/fleet/share';
import { datasetJsonl } from '../../../testkit/corpus/writeDatasets';
import { waitForRun } from '../../../testkit/evalWorld';
import { createModelServer, type ModelServer } from '../../../testkit/modelServer/server';
import { principal, startTestStack, unique, type ApiClient, type TestStack } from '../../../testkit/stack';
import {
  signalGroup,
  startWorkerProcess,
  waitForActivityPollers,
  writeWorkflowBundle,
} from '../../../testkit/processes';

const LIMIT = 8;
const MAX_RPS = 40;
const LEASE_MS = 2000;
const ROWS = 600;

let stack: TestStack;
let server: ModelServer;
let paced: ModelServer;
let slow: ModelServer;
let editor: ApiClient;
let workerEnv: Record<string, string>;
let taskQueue: string;
let team: string;
let datasetId: string;
let suiteId: string;
let modelId: string;
const workers: ChildProcess[] = [];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function startWorkers(count: number) {
  for (let i = 0; i < count; i++) workers.push(startWorkerProcess(stack, workerEnv));
  const live = workers.filter((w) => w.exitCode === null && w.signalCode === null).length;
  await waitForActivityPollers(stack.temporal, taskQueue, live);
}

/** A model version of its own (no cached predictions) on one of the two servers' endpoints. */
async function modelVersion(endpoint: Record<string, unknown>): Promise<string> {
  const res = await editor.post(`/v1/models/${modelId}/versions`, { version: unique('v'), endpoint });
  if (res.status !== 201) throw new Error(JSON.stringify(res.body));
  return res.body.modelVersion;
}

async function startRun(version: string): Promise<string> {
  const res = await editor.post('/v1/eval-runs', { modelVersion: version, datasetId, metricSuiteId: suiteId });
  if (res.status !== 202) throw new Error(JSON.stringify(res.body));
  return res.body.runId;
}

/** Samples the endpoint's leases while `work` runs: the most granted at once, and the most workers holding a share. */
async function watchLeases<T>(endpoint: { url: string }, work: () => Promise<T>) {
  const key = fleetEndpointKey({ protocol: 'json-predict', url: endpoint.url });
  const seen = { granted: 0, holders: 0, rpsGranted: 0, rpsHolders: 0 };
  let done = false;
  const sampling = (async () => {
    while (!done) {
      const leases = await liveLeases(stack.pool, key);
      seen.granted = Math.max(
        seen.granted,
        leases.reduce((sum, l) => sum + l.concurrency, 0),
      );
      seen.holders = Math.max(seen.holders, leases.filter((l) => l.concurrency > 0).length);
      seen.rpsGranted = Math.max(
        seen.rpsGranted,
        leases.reduce((sum, l) => sum + l.rps, 0),
      );
      seen.rpsHolders = Math.max(seen.rpsHolders, leases.filter((l) => l.rps > 0).length);
      await sleep(50);
    }
  })();
  try {
    return { result: await work(), seen };
  } finally {
    done = true;
    await sampling;
  }
}

/** Every run succeeded over all rows, with the same values (one model, one dataset: the values are exact). */
function expectExact(runs: any[], reference: any) {
  for (const run of runs) {
    expect(run.status).toBe('succeeded');
    expect(run.progress.done).toBe(ROWS);
    expect(run.results.accuracy.n).toBe(ROWS);
    expect(run.results.accuracy.value).toBe(reference.results.accuracy.value);
    expect(run.results.log_loss.value).toBe(reference.results.log_loss.value);
  }
}

let reference: any;

beforeAll(async () => {
  const prefix = unique('fleet').toLowerCase();
  taskQueue = taskQueueFor(prefix, 'exploratory');
  stack = await startTestStack({
    EVALGATE_TASK_QUEUE_PREFIX: prefix,
    EVALGATE_SHARD_HEARTBEAT_TIMEOUT_MS: '3000',
    EVALGATE_ROWS_PER_SHARD: '100',
    EVALGATE_SHARD_PARALLELISM: '6',
  });
  workerEnv = {
    EVALGATE_PART_ROWS: '50',
    // Two shards at a time per worker, each with 8 lanes: every worker alone would send 16 at once.
    EVALGATE_EXPLORATORY_WORKER_CONCURRENCY: '2',
    EVALGATE_FLEET_LEASE_MS: String(LEASE_MS),
    EVALGATE_WORKFLOW_BUNDLE_PATH: await writeWorkflowBundle(),
  };
  server = await createModelServer({ knobs: { latencyMs: 25 } });
  paced = await createModelServer();
  // Slow enough answers that a survivor still has work when a killed worker's share comes back (from the start: a
  // latency that grows mid-run would lower the endpoint's adaptive limit).
  slow = await createModelServer({ knobs: { latencyMs: 150 } });
  team = unique('ml');
  editor = await principal(stack, 'editor', [{ team, roles: ['editor'] }]);
  datasetId = (await editor.post('/v1/datasets', { name: unique('spam'), taskType: 'classification', ownerTeam: team }))
    .body.datasetId;
  const up = await editor.ndjson(
    `/v1/datasets/${datasetId}/versions?labelPolicy=human_reviewed`,
    datasetJsonl('classification', { tags: ['easy-ham'], limit: 300 }) +
      datasetJsonl('classification', { tags: ['spam'], limit: 300 }),
  );
  expect(up.body.rowCount).toBe(ROWS);
  suiteId = (await editor.post('/v1/metric-suites', { name: unique('suite'), purpose: 'exploratory', ownerTeam: team }))
    .body.metricSuiteId;
  await editor.post(`/v1/metric-suites/${suiteId}/versions`, {
    metrics: [
      { name: 'accuracy', metric: 'accuracy' },
      { name: 'log_loss', metric: 'log_loss' },
    ],
  });
  modelId = (await editor.post('/v1/models', { name: unique('clf'), ownerTeam: team })).body.modelId;
}, 180_000);

afterAll(async () => {
  workers.forEach((worker) => signalGroup(worker));
  await server?.close();
  await paced?.close();
  await slow?.close();
  await stack?.close();
});

const limited = () => ({ protocol: 'json-predict' as const, url: server.predictUrl('nb-v1'), maxConcurrency: LIMIT });

it('two workers never send more than the declared maxConcurrency together', async () => {
  await startWorkers(2);
  server.resetStats();
  const versions = await Promise.all([1, 2, 3].map(() => modelVersion(limited())));
  const { result: runs, seen } = await watchLeases(limited(), async () => {
    const ids = await Promise.all(versions.map(startRun));
    return Promise.all(ids.map((id) => waitForRun(editor, id, 180_000)));
  });
  reference = runs[0];
  expectExact(runs, reference);
  expect(server.stats().requests.total).toBe(3 * ROWS);
  expect(server.stats().concurrency.maxInFlight).toBeLessThanOrEqual(LIMIT);
  // The limit was shared, and used: both workers held a share at once, and the server saw it reached.
  expect(seen.holders).toBe(2);
  expect(seen.granted).toBeLessThanOrEqual(LIMIT);
  expect(server.stats().concurrency.maxInFlight).toBe(LIMIT);
}, 300_000);

it('three workers never send more than the declared maxConcurrency together', async () => {
  await startWorkers(1);
  server.resetStats();
  const versions = await Promise.all([1, 2, 3].map(() => modelVersion(limited())));
  const { result: runs, seen } = await watchLeases(limited(), async () => {
    const ids = await Promise.all(versions.map(startRun));
    return Promise.all(ids.map((id) => waitForRun(editor, id, 180_000)));
  });
  expectExact(runs, reference);
  expect(server.stats().requests.total).toBe(3 * ROWS);
  expect(server.stats().concurrency.maxInFlight).toBeLessThanOrEqual(LIMIT);
  expect(seen.holders).toBe(3);
  expect(seen.granted).toBeLessThanOrEqual(LIMIT);
}, 300_000);

it('three workers keep to the declared maxRps together', async () => {
  const endpoint = { protocol: 'json-predict', url: paced.predictUrl('nb-v1'), maxConcurrency: 64, maxRps: MAX_RPS };
  const version = await modelVersion(endpoint);
  paced.resetStats();
  const started = Date.now();
  const { result: run, seen } = await watchLeases(endpoint, async () => waitForRun(editor, await startRun(version)));
  const seconds = (Date.now() - started) / 1000;
  expectExact([run], reference);
  // A token bucket of 40/s with a burst of 40 sends at most about 80 in any one second; three workers each at 40/s
  // would send up to 240. The whole run cannot beat the rate either.
  expect(paced.stats().requests.maxPerSecond).toBeLessThanOrEqual(2.5 * MAX_RPS);
  expect(seconds).toBeGreaterThanOrEqual((ROWS - 2 * MAX_RPS) / MAX_RPS);
  expect(seen.rpsHolders).toBeGreaterThanOrEqual(2);
  expect(seen.rpsGranted).toBeLessThanOrEqual(MAX_RPS + 1e-6);
}, 300_000);

it("returns a SIGKILLed worker's share to the survivor once its lease expires", async () => {
  const endpoint = { ...limited(), url: slow.predictUrl('nb-v1') };
  const key = fleetEndpointKey(endpoint);
  const version = await modelVersion(endpoint);
  slow.resetStats();
  const runId = await startRun(version);
  // All three busy, then two die at once.
  const deadline = Date.now() + 60_000;
  while ((await liveLeases(stack.pool, key)).filter((l) => l.concurrency > 0).length < 3) {
    if (Date.now() > deadline) throw new Error('three workers never held a share at once');
    await sleep(50);
  }
  const [survivor, ...victims] = workers.splice(0);
  workers.push(survivor);
  victims.forEach((victim) => signalGroup(victim));
  const killedAt = Date.now();
  let leases = await liveLeases(stack.pool, key);
  while (!(leases.length === 1 && leases[0].concurrency === LIMIT)) {
    if (Date.now() - killedAt > 4 * LEASE_MS + 5000) throw new Error(`no full share back: ${JSON.stringify(leases)}`);
    await sleep(50);
    leases = await liveLeases(stack.pool, key);
  }
  // The survivor uses it: the server sees the whole limit in flight from one worker.
  const before = slow.stats().concurrency.maxInFlight;
  slow.resetStats();
  await sleep(1000);
  expect(slow.stats().concurrency.maxInFlight).toBe(LIMIT);
  const run = await waitForRun(editor, runId, 180_000);
  expectExact([run], reference);
  expect(Math.max(before, slow.stats().concurrency.maxInFlight)).toBeLessThanOrEqual(LIMIT);
}, 300_000);
