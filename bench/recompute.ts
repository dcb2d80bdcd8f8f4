/**
 * Metric-recompute benchmark (issue 6): recompute one metric over a 1,000,000-example run
 * from its stored per-example records, through the real metricRecomputeWorkflow (Temporal,
 * per-run child workflow, heartbeating shard activities, superseding result rows), and
 * print it beside the floor: the time to merely read the same stored records (download
 * and parse every part, at the same parallelism). Target: under 60 s on 2 cores.
 *
 * It works in a database and bucket of its own (evalgate_bench, evalgate-bench): a metric
 * incident is platform-wide, and one declared here must not recompute anybody else's runs.
 *
 *   npm run stack -- up --services-only && npx tsx bench/recompute.ts [examples] [shard parallelism]
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { Pool } from 'pg';
import { listPartKeys, readStoredRecords } from '../activities/incidents/recompute';
import { runKeys } from '../domain/runs/keys';
import type { ExampleRecord } from '../domain/runs/records';
import { configFrom, loadConfig } from '../common/config';
import { createPool } from '../common/db';
import { createLogger } from '../common/logger';
import { WORKFLOW_TYPES, evalRunWorkflowId, metricRecomputeWorkflowId, taskQueueFor } from '../common/names';
import { createStorage, type Storage } from '../common/storage';
import { migrate } from '../schema/migrate';
import { createEvalWorkers, installTemporalLogging } from '../workers/evalWorkers';
import type { metricRecomputeWorkflow } from '../workflows/metricRecompute';

const EXAMPLES = Number(process.argv[2] ?? 1_000_000);
const SHARD_PARALLELISM = Number(process.argv[3] ?? 4);
const ROWS_PER_SHARD = 5_000;
const PART_ROWS = 500;

const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;
/** CPU seconds this process spent since `from` (the workers run in it): the machine is shared, so wall time alone says little. */
const cpuSeconds = (from: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1e6;
};
const fmt = (s: number) => `${s.toFixed(2)} s`;

/** Its own database: created on first use, migrated like any other. */
async function benchDatabase(): Promise<string> {
  const base = loadConfig().EVALGATE_DATABASE_URL;
  const url = new URL(base);
  url.pathname = '/evalgate_bench';
  const admin = new Pool({ connectionString: base, max: 1 });
  const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', ['evalgate_bench']);
  if (!exists.rows.length) await admin.query('CREATE DATABASE evalgate_bench');
  await admin.end();
  return url.toString();
}

/** Deterministic synthetic predictions: 30% spam, a classifier right about 85% of the time. */
function record(i: number): ExampleRecord {
  const h = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  const spam = h % 10 < 3;
  const right = (h >>> 8) % 100 < 85;
  const predicted = right === spam ? 'spam' : 'ham';
  const p = ((h >>> 16) % 1000) / 1000;
  return {
    id: `ex-${i}`,
    tags: [['en', 'de', 'fr', 'es'][i % 4]],
    label: spam ? 'spam' : 'ham',
    prediction: { label: predicted, scores: { spam: predicted === 'spam' ? 0.5 + p / 2 : p / 2 } },
    correct: right,
  };
}

async function inLanes<T>(items: T[], lanes: number, work: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

/** Registry records, shard manifest and a finished release run whose recall was computed with the buggy 0.9.0. */
async function seedRun(pool: Pool, storage: Storage): Promise<{ runId: string; shards: number }> {
  const tag = randomUUID().slice(0, 8);
  const q = async (sql: string, params: unknown[]) => (await pool.query(sql, params)).rows[0];
  await pool.query(`INSERT INTO teams (team) VALUES ('bench') ON CONFLICT DO NOTHING`);
  const principal = await q(`INSERT INTO principals (name) VALUES ($1) RETURNING principal_id`, [`bench-${tag}`]);
  const by = principal.principal_id;
  const dataset = await q(
    `INSERT INTO datasets (name, task_type, owner_team, created_by) VALUES ($1, 'classification', 'bench', $2) RETURNING dataset_id`,
    [`bench-${tag}`, by],
  );
  const shards = Math.ceil(EXAMPLES / ROWS_PER_SHARD);
  const version = await q(
    `INSERT INTO dataset_versions (dataset_id, version, content_hash, row_count, byte_count, label_policy, visibility,
    classification, created_by)
     VALUES ($1, 1, $2, $3, 0, 'human_reviewed', 'internal', 'internal', $4) RETURNING dataset_version_id`,
    [dataset.dataset_id, tag, EXAMPLES, by],
  );
  await pool.query(
    `INSERT INTO dataset_shards (dataset_version_id, shard_index, object_key, row_count, first_row, byte_count, content_hash)
     SELECT $1, i, 'bench/unused/' || i, LEAST($2, $3 - i * $2), i * $2, 0, '' FROM generate_series(0, $4 - 1) i`,
    [version.dataset_version_id, ROWS_PER_SHARD, EXAMPLES, shards],
  );
  const model = await q(
    `INSERT INTO models (name, owner_team, created_by) VALUES ($1, 'bench', $2) RETURNING model_id`,
    [`bench-${tag}`, by],
  );
  const modelVersion = await q(
    `INSERT INTO model_versions (model_id, version, version_seq, protocol, endpoint, params_hash, created_by)
     VALUES ($1, 'v1', 1, 'json-predict', '{"protocol":"json-predict","url":"http://127.0.0.1:9/unused"}', '', $2)
     RETURNING model_version_id`,
    [model.model_id, by],
  );
  const suite = await q(
    `INSERT INTO metric_suites (name, purpose, owner_team, created_by) VALUES ($1, 'release_blocking', 'bench', $2) ` +
      `RETURNING metric_suite_id`,
    [`bench-${tag}`, by],
  );
  const metrics = [{ name: 'recall_spam', metric: 'recall', params: { positiveLabel: 'spam' }, implVersion: '0.9.0' }];
  const suiteVersion = await q(
    `INSERT INTO metric_suite_versions (metric_suite_id, version, metrics, content_hash, created_by) VALUES ($1, 1, $2, ` +
      `$3, $4) RETURNING metric_suite_version_id`,
    [suite.metric_suite_id, JSON.stringify(metrics), tag, by],
  );
  const runId = randomUUID();
  await pool.query(
    `INSERT INTO eval_runs (run_id, model_version_id, dataset_version_id, metric_suite_version_id, mode, status, seed, metric_impl_versions,
                            platform_version, workflow_id, task_queue, progress_done, progress_total, created_by, finished_at)
     VALUES ($1::uuid, $2, $3, $4, 'release', 'succeeded', $1::text, '{"recall":"0.9.0"}', 'bench', $5, 'bench', $6, $6, $7, now())`,
    [
      runId,
      modelVersion.model_version_id,
      version.dataset_version_id,
      suiteVersion.metric_suite_version_id,
      evalRunWorkflowId(runId),
      EXAMPLES,
      by,
    ],
  );
  await pool.query(
    `INSERT INTO eval_run_shards (run_id, shard_index, status, rows_done, row_count) SELECT $1, shard_index, 'done', ` +
      `row_count, row_count FROM dataset_shards WHERE dataset_version_id = $2`,
    [runId, version.dataset_version_id],
  );
  await pool.query(
    `INSERT INTO metric_results (run_id, metric_name, metric_id, impl_version, value, n) VALUES ($1, 'recall_spam', ` +
      `'recall', '0.9.0', 0.5, $2)`,
    [runId, EXAMPLES],
  );

  const parts: { shard: number; part: number; from: number; to: number }[] = [];
  for (let s = 0; s < shards; s++) {
    const first = s * ROWS_PER_SHARD;
    const last = Math.min(EXAMPLES, first + ROWS_PER_SHARD);
    for (let p = 0, from = first; from < last; p++, from += PART_ROWS)
      parts.push({ shard: s, part: p, from, to: Math.min(last, from + PART_ROWS) });
  }
  await inLanes(parts, 16, async ({ shard, part, from, to }) => {
    let body = '';
    for (let i = from; i < to; i++) body += JSON.stringify(record(i)) + '\n';
    await storage.put(runKeys.part(runId, shard, part), body, 'application/x-ndjson');
  });
  return { runId, shards };
}

/** The floor: list, download and parse every stored part of the run, nothing else. */
async function readFloor(
  storage: Storage,
  runId: string,
  shards: number,
): Promise<{ seconds: number; cpu: number; records: number }> {
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  let records = 0;
  await inLanes(
    Array.from({ length: shards }, (_, i) => i),
    SHARD_PARALLELISM,
    async (shard) => {
      const keys = await listPartKeys(storage, runId, shard);
      for await (const part of readStoredRecords(storage, keys)) records += part.length;
    },
  );
  return { seconds: seconds(start), cpu: cpuSeconds(cpu), records };
}

async function main() {
  const databaseUrl = await benchDatabase();
  const config = configFrom({
    EVALGATE_DATABASE_URL: databaseUrl,
    EVALGATE_S3_BUCKET: 'evalgate-bench',
    EVALGATE_TASK_QUEUE_PREFIX: `bench-${randomUUID().slice(0, 8)}`,
    EVALGATE_LOG_LEVEL: 'warn',
    EVALGATE_SHARD_PARALLELISM: String(SHARD_PARALLELISM),
  });
  const logger = createLogger(config, 'bench-recompute');
  installTemporalLogging(logger);
  const pool = createPool(config);
  await migrate(pool);
  const storage = createStorage(config);
  await storage.ensureBucket();

  process.stdout.write(
    `seeding a ${EXAMPLES.toLocaleString()}-example run (${ROWS_PER_SHARD} rows/shard, ${PART_ROWS} rows/part)...\n`,
  );
  let start = process.hrtime.bigint();
  const { runId, shards } = await seedRun(pool, storage);
  process.stdout.write(`  seeded in ${fmt(seconds(start))}: run ${runId}, ${shards} shards\n`);

  const floor = await readFloor(storage, runId, shards);
  if (floor.records !== EXAMPLES) throw new Error(`read ${floor.records} records, expected ${EXAMPLES}`);

  const nativeConnection = await NativeConnection.connect({ address: config.EVALGATE_TEMPORAL_ADDRESS });
  const workers = await createEvalWorkers({
    config,
    pool,
    storage,
    logger,
    connection: nativeConnection,
    modes: ['release'],
  });
  const running = workers.map((w) => w.run());
  const connection = await Connection.connect({ address: config.EVALGATE_TEMPORAL_ADDRESS });
  const client = new Client({ connection, namespace: config.EVALGATE_TEMPORAL_NAMESPACE });

  // A metric incident for recall@0.9.0, recorded as the API records one; the workflow does the rest.
  const incidentId = randomUUID();
  const { rows } = await pool.query<{ created_by: string }>('SELECT created_by FROM eval_runs WHERE run_id = $1', [
    runId,
  ]);
  await pool.query(
    `INSERT INTO metric_incidents (incident_id, kind, metric, bad_impl_versions, fixed_impl_version, note, workflow_id, created_by)
     VALUES ($1, 'metric_bug', 'recall', '{0.9.0}', '1.0.0', 'bench', $2, $3)`,
    [incidentId, metricRecomputeWorkflowId(incidentId), rows[0].created_by],
  );
  start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const report = await client.workflow.execute<typeof metricRecomputeWorkflow>(WORKFLOW_TYPES.metricRecompute, {
    workflowId: metricRecomputeWorkflowId(incidentId),
    taskQueue: taskQueueFor(config.EVALGATE_TASK_QUEUE_PREFIX, 'release'),
    args: [{ incidentId, runParallelism: 1, shardParallelism: SHARD_PARALLELISM, heartbeatTimeoutMs: 30_000 }],
  });
  const recompute = seconds(start);
  const recomputeCpu = cpuSeconds(cpu);
  const load = (await import('node:os')).loadavg()[0];
  const change = report.valuesChanged.listed.find((c) => c.runId === runId);

  process.stdout.write(
    [
      '',
      `recompute recall over ${EXAMPLES.toLocaleString()} stored examples (${shards} shards, ${SHARD_PARALLELISM} at a ` +
        `time, 200 bootstrap replicates):`,
      `                                          wall        CPU (this process)`,
      `  metricRecomputeWorkflow end to end      ${fmt(recompute).padEnd(11)} ${fmt(recomputeCpu)}   ` +
        `(${Math.round(EXAMPLES / recompute).toLocaleString()} examples/s wall; target < 60 s)`,
      `  floor: read + parse the stored records  ${fmt(floor.seconds).padEnd(11)} ${fmt(floor.cpu)}   ` +
        `(${Math.round(EXAMPLES / floor.seconds).toLocaleString()} examples/s wall)`,
      `  recompute / floor                       ${(recompute / floor.seconds).toFixed(2)}x        ` +
        `${(recomputeCpu / floor.cpu).toFixed(2)}x`,
      `  1-minute load average at the end: ${load.toFixed(1)} on ${(await import('node:os')).cpus().length} cores ` +
        `(others' tests share this machine)`,
      `  runs recomputed ${report.runs.recomputed}; recall@1.0.0 = ${change?.newValue?.toFixed(5)} over n = ${change?.n}`,
      '',
    ].join('\n'),
  );

  for (const w of workers) w.shutdown();
  await Promise.allSettled(running);
  await Promise.all([connection.close(), nativeConnection.close(), pool.end()]);
}

main().catch((err: Error) => {
  process.stderr.write(`bench/recompute: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
