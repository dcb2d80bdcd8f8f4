/**
 * Outage drills: transient faults never fail a run.
 *
 *  - Object storage stopped for ~3 s mid-run (a MinIO of this test's own, on its own port and data
 *    directory — the shared one stays up for everyone else): the shard's writes and reads fail with
 *    connection errors, its activity is retried with backoff and resumes from its checkpoint.
 *  - Every PostgreSQL connection to this test's database terminated mid-run (pg_terminate_backend
 *    filtered by datname): the pools reconnect, interrupted activities are retried.
 *
 * Each run ends `succeeded` with the values and counts of an undisturbed run of the same data.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModelServer, type ModelServer } from '../../../testkit/modelServer/server';
import {
  principal,
  startTestStack,
  testStackAllowText,
  unique,
  type ApiClient,
  type TestStack,
} from '../../../testkit/stack';
import { datasetJsonl } from '../../../testkit/corpus/writeDatasets';

const ROOT = join(__dirname, '..', '..', '..');
const ROWS = 900;

let stack: TestStack;
let server: ModelServer;
let editor: ApiClient;
let team: string;
let minio: { port: number; dataDir: string; bin: string; child?: ChildProcess };
let worker: ChildProcess | undefined;
let datasetId: string;
let suiteId: string;
let modelId: string;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

async function startMinio(): Promise<void> {
  const consolePort = await freePort();
  minio.child = spawn(
    minio.bin,
    ['server', minio.dataDir, '--address', `127.0.0.1:${minio.port}`, '--console-address', `127.0.0.1:${consolePort}`],
    {
      env: {
        ...process.env,
        MINIO_ROOT_USER: stack?.config.EVALGATE_S3_ACCESS_KEY ?? 'evalgate',
        MINIO_ROOT_PASSWORD: stack?.config.EVALGATE_S3_SECRET_KEY ?? 'evalgate-secret',
        MINIO_UPDATE: 'off',
        MINIO_CALLHOME_ENABLE: 'off',
      },
      stdio: 'ignore',
      detached: true,
    },
  );
  const deadline = Date.now() + 30_000;
  for (;;) {
    const live = await fetch(`http://127.0.0.1:${minio.port}/minio/health/live`).then(
      (r) => r.ok,
      () => false,
    );
    if (live) return;
    if (Date.now() > deadline) throw new Error('the drill MinIO did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
}

function stopMinio(): void {
  if (!minio.child?.pid) return;
  try {
    process.kill(-minio.child.pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
  minio.child = undefined;
}

function startWorker(): ChildProcess {
  return spawn(join(ROOT, 'node_modules/.bin/tsx'), ['workers/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      EVALGATE_ENDPOINT_ALLOW: testStackAllowText(process.env.EVALGATE_ENDPOINT_ALLOW),
      EVALGATE_TASK_QUEUE_PREFIX: stack.config.EVALGATE_TASK_QUEUE_PREFIX,
      EVALGATE_PART_ROWS: '30',
      EVALGATE_LOG_LEVEL: 'error',
      EVALGATE_DATABASE_URL: stack.config.EVALGATE_DATABASE_URL,
      EVALGATE_S3_BUCKET: stack.config.EVALGATE_S3_BUCKET,
      EVALGATE_S3_PORT: String(minio.port),
    },
    detached: true,
    stdio: 'ignore',
  });
}

/** Polls the run, riding out the API's own failures while a drill is on. */
async function runUntil(runId: string, until: (body: any) => boolean, timeoutMs = 180_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await editor.get(`/v1/eval-runs/${runId}`).catch(() => undefined);
    if (res?.status === 200 && until(res.body)) return res.body;
    if (Date.now() > deadline) throw new Error(`run ${runId}: ${JSON.stringify(res?.body)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const ended = (b: any) => b.status !== 'queued' && b.status !== 'running';

async function startRun(version: string): Promise<string> {
  const { modelVersion } = (
    await editor.post(`/v1/models/${modelId}/versions`, {
      version,
      // Few lanes, so the run lasts long enough for the drill to land mid-run.
      endpoint: { protocol: 'json-predict', url: server.predictUrl('nb-v1'), maxConcurrency: 4 },
    })
  ).body;
  const res = await editor.post('/v1/eval-runs', { modelVersion, datasetId, metricSuiteId: suiteId });
  expect(res.status).toBe(202);
  return res.body.runId;
}

beforeAll(async () => {
  minio = {
    port: await freePort(),
    dataDir: mkdtempSync(join(tmpdir(), 'evalgate-drill-minio-')),
    bin: execFileSync('bash', [join(ROOT, 'infra/build.sh'), 'minio'], { encoding: 'utf8' }).trim(),
  };
  await startMinio();
  stack = await startTestStack({
    EVALGATE_TASK_QUEUE_PREFIX: unique('drill').toLowerCase(),
    EVALGATE_S3_PORT: String(minio.port),
    EVALGATE_SHARD_HEARTBEAT_TIMEOUT_MS: '5000',
    EVALGATE_ROWS_PER_SHARD: '300',
    EVALGATE_SHARD_PARALLELISM: '3',
  });
  server = await createModelServer({ knobs: { latencyMs: 10 } });
  team = unique('ml');
  editor = await principal(stack, 'editor', [{ team, roles: ['editor'] }]);
  datasetId = (await editor.post('/v1/datasets', { name: unique('spam'), taskType: 'classification', ownerTeam: team }))
    .body.datasetId;
  const up = await editor.ndjson(
    `/v1/datasets/${datasetId}/versions?labelPolicy=human_reviewed`,
    datasetJsonl('classification', { tags: ['easy-ham'], limit: 500 }) +
      datasetJsonl('classification', { tags: ['spam'], limit: 400 }),
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
  worker = startWorker();
}, 120_000);

afterAll(async () => {
  if (worker?.pid) {
    try {
      process.kill(-worker.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  stopMinio();
  rmSync(minio.dataDir, { recursive: true, force: true });
  await server?.close();
  await stack?.close();
});

let baseline: any;
beforeAll(async () => {
  baseline = await runUntil(await startRun('undisturbed'), ended);
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
  const runId = await startRun('storage-outage');
  const before = await runUntil(runId, (b) => b.progress.done >= 150 || ended(b));
  expect(before.status).toBe('running');
  stopMinio();
  await new Promise((r) => setTimeout(r, 3_000));
  const during = await runUntil(runId, () => true);
  await startMinio();
  expect(during.status).toBe('running');
  expectSameAsBaseline(await runUntil(runId, ended));
}, 240_000);

it('finishes a run whose database connections are all terminated mid-run, with exact counts', async () => {
  const runId = await startRun('database-outage');
  const before = await runUntil(runId, (b) => b.progress.done >= 150 || ended(b));
  expect(before.status).toBe('running');
  const database = new URL(stack.config.EVALGATE_DATABASE_URL).pathname.slice(1);
  // From a connection to another database, so the terminating statement is not among those terminated.
  const admin = new URL(stack.config.EVALGATE_DATABASE_URL);
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
  expectSameAsBaseline(await runUntil(runId, ended));
}, 240_000);
