/**
 * Outage drills: transient faults never fail a run. The test runs its own MinIO (own port and data
 * directory) and its own Temporal dev server (own port and SQLite file), with its stack and its worker
 * process pointed at both — the shared services stay up for everyone else.
 *
 *  - Object storage stopped for ~3 s mid-run: the shard's writes and reads fail with connection
 *    errors, its activity is retried with backoff and resumes from its checkpoint.
 *  - Every PostgreSQL connection to this test's database terminated mid-run (pg_terminate_backend
 *    filtered by datname): the pools reconnect, interrupted activities are retried.
 *  - The Temporal server SIGKILLed mid-run and started again ~3 s later on the same port and database
 *    file: the worker and the API reconnect, the workflow carries on from its history, and shards whose
 *    heartbeats lapsed meanwhile resume from their checkpoints.
 *
 * Each run ends `succeeded` with the values and counts of an undisturbed run of the same data.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFrom } from '../../../common/config';
import { runEnded, startDrillWorld, type DrillWorld } from '../../../testkit/drillWorld';
import { registerSpamDataset, registerSuite } from '../../../testkit/evalWorld';
import { drillMinio, drillTemporal, type DrillService } from '../../../testkit/processes';
import { scrapeMetrics, seriesValue } from '../../../testkit/scrape';
import { unique } from '../../../testkit/stack';

const ROWS = 900;

let world: DrillWorld;
let minio: DrillService;
let temporal: DrillService;
const dirs: string[] = [];
let datasetId: string;
let suiteId: string;
let modelId: string;

async function startRun(version: string): Promise<string> {
  const { modelVersion } = (
    await world.editor.post(`/v1/models/${modelId}/versions`, {
      version,
      // Few lanes, so the run lasts long enough for the drill to land mid-run.
      endpoint: { protocol: 'json-predict', url: world.server.predictUrl('nb-v1'), maxConcurrency: 4 },
    })
  ).body;
  const res = await world.editor.post('/v1/eval-runs', { modelVersion, datasetId, metricSuiteId: suiteId });
  expect(res.status).toBe(202);
  return res.body.runId;
}

/** Starts a run and waits until a sixth of it is done, so a drill lands mid-run. */
async function runUnderWay(version: string): Promise<string> {
  const runId = await startRun(version);
  const before = await world.pollRun(runId, (b) => b.progress.done >= ROWS / 6 || runEnded(b));
  expect(before.status).toBe('running');
  expect(before.progress.done).toBeLessThan(ROWS);
  return runId;
}

const tempDir = (prefix: string) => {
  dirs.push(mkdtempSync(join(tmpdir(), prefix)));
  return dirs[dirs.length - 1];
};

beforeAll(async () => {
  const { EVALGATE_S3_ACCESS_KEY: accessKey, EVALGATE_S3_SECRET_KEY: secretKey } = configFrom({});
  minio = await drillMinio({ dataDir: tempDir('evalgate-drill-minio-'), accessKey, secretKey });
  temporal = await drillTemporal({ dbFile: join(tempDir('evalgate-drill-temporal-'), 'temporal.db') });
  await Promise.all([minio.start(), temporal.start()]);
  world = await startDrillWorld({
    stack: {
      EVALGATE_S3_PORT: String(minio.port),
      EVALGATE_TEMPORAL_ADDRESS: `127.0.0.1:${temporal.port}`,
      EVALGATE_SHARD_HEARTBEAT_TIMEOUT_MS: '5000',
      EVALGATE_ROWS_PER_SHARD: '300',
      EVALGATE_SHARD_PARALLELISM: '3',
    },
    worker: { EVALGATE_PART_ROWS: '30', EVALGATE_LOG_LEVEL: 'error' },
  });
  ({ datasetId } = await registerSpamDataset(world, { mix: { 'easy-ham': 500, spam: 400 } }));
  ({ metricSuiteId: suiteId } = await registerSuite(world, 'exploratory', [
    { name: 'accuracy', metric: 'accuracy' },
    { name: 'log_loss', metric: 'log_loss' },
  ]));
  modelId = (await world.editor.post('/v1/models', { name: unique('clf'), ownerTeam: world.team })).body.modelId;
  world.startWorker();
}, 180_000);

afterAll(async () => {
  await world?.close();
  minio?.kill();
  temporal?.kill();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

let baseline: any;
beforeAll(async () => {
  baseline = await world.pollRun(await startRun('undisturbed'));
  expect(baseline).toMatchObject({ status: 'succeeded', progress: { done: ROWS } });
}, 240_000);

function expectSameAsBaseline(run: any) {
  expect(run.status).toBe('succeeded');
  expect(run.progress).toEqual({ done: ROWS, total: ROWS });
  for (const name of ['accuracy', 'log_loss']) {
    expect(run.results[name].n).toBe(ROWS);
    expect(run.results[name].value).toBe(baseline.results[name].value);
  }
}

it('finishes a run whose object storage is down for 3 s mid-run, with exact counts', async () => {
  const runId = await runUnderWay('storage-outage');
  minio.kill();
  await new Promise((r) => setTimeout(r, 3_000));
  const during = await world.pollRun(runId, () => true);
  await minio.start();
  expect(during.status).toBe('running');
  expectSameAsBaseline(await world.pollRun(runId));
}, 240_000);

it('finishes a run whose database connections are all terminated mid-run, with exact counts', async () => {
  const runId = await runUnderWay('database-outage');
  const database = new URL(world.stack.config.EVALGATE_DATABASE_URL).pathname.slice(1);
  // From a connection to another database, so the terminating statement is not among those terminated.
  const admin = new URL(world.stack.config.EVALGATE_DATABASE_URL);
  admin.pathname = '/postgres';
  const { Client } = await import('pg');
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    let terminated = 0;
    for (let i = 0; i < 3; i++) {
      const res = await client.query(
        'SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1',
        [database],
      );
      terminated += res.rows[0].n as number;
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(terminated).toBeGreaterThan(0);
  } finally {
    await client.end();
  }
  expectSameAsBaseline(await world.pollRun(runId));
}, 240_000);

it('finishes a run whose Temporal server is killed and restarted 3 s later, with exact counts', async () => {
  const runId = await runUnderWay('temporal-restart');
  temporal.kill();
  // While it is down /metrics still answers, and says Temporal's task-queue stats are missing.
  const [outage] = await Promise.all([scrapeMetrics(world.stack), new Promise((r) => setTimeout(r, 3_000))]);
  expect(seriesValue(outage, 'evalgate_task_queue_stats_up')).toBe(0);
  // The run's record lives in PostgreSQL: the API still answers for it while Temporal is gone.
  // Its shards may all have finished meanwhile (they run in the worker); the run cannot end without Temporal.
  const during = await world.pollRun(runId, () => true);
  expect(during.status).toBe('running');
  await temporal.start();
  expectSameAsBaseline(await world.pollRun(runId));
  expect(seriesValue(await scrapeMetrics(world.stack), 'evalgate_task_queue_stats_up')).toBe(1);
}, 240_000);
