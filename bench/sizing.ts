/**
 * What one eval run costs each layer, per 1,000 examples — the inputs of the sizing table in
 * docs/operations.md ("Sizing"). One run of N examples (default 20,000) against the reference server
 * at 20 ms, concurrency 64, API and worker compiled in their own processes as in bench/eval-run.ts; it
 * prints, per 1,000 examples: CPU seconds of the worker, PostgreSQL, Temporal, MinIO and the API;
 * PostgreSQL transactions and rows written; bytes written to object storage; and per run: workflow
 * history events, peak PostgreSQL connections of the test database, and the run's wall time.
 * CPU seconds hold on a busy machine far better than wall time does: quote those.
 *
 *   npm run stack -- up --services-only && npx tsx bench/sizing.ts [--rows N]
 */
import { Client, Connection } from '@temporalio/client';
import { Pool } from 'pg';
import { loadConfig } from '../common/config';
import { evalRunWorkflowId } from '../common/names';
import { createStorage } from '../common/storage';
import { classificationInput, examplesOf } from '../testkit/corpus/spamCorpus';
import { build, cpuBetween, cpuSnapshot } from './lib/processes';
import { startBenchStack } from './lib/stack';

const rowsArg = process.argv.indexOf('--rows');
const ROWS = rowsArg > 0 ? Number(process.argv[rowsArg + 1]) : 20_000;
const CONCURRENCY = 64;

const corpus = examplesOf('all');
const jsonl = (salt: string) =>
  Array.from({ length: ROWS }, (_, i) => {
    const e = corpus[i % corpus.length];
    return JSON.stringify({ id: `${salt}-${i}`, input: classificationInput(e), label: e.label, tags: [e.tag] });
  }).join('\n') + '\n';

async function main() {
  const config = loadConfig();
  build();
  const connection = await Connection.connect({ address: config.EVALGATE_TEMPORAL_ADDRESS });
  const temporal = new Client({ connection, namespace: config.EVALGATE_TEMPORAL_NAMESPACE });
  const pool = new Pool({ connectionString: config.EVALGATE_DATABASE_URL, max: 2 });
  const storage = createStorage(config);
  const stack = await startBenchStack({
    modelKnobs: { latencyMs: 20 },
    apiEnv: { EVALGATE_ROWS_PER_SHARD: '5000', EVALGATE_SHARD_PARALLELISM: '4' },
    workerEnv: { EVALGATE_MODEL_MAX_CONCURRENCY: String(CONCURRENCY), EVALGATE_EXPLORATORY_WORKER_CONCURRENCY: '8' },
    apiNodeFlags: ['--max-old-space-size=160'],
    workerNodeFlags: ['--max-old-space-size=512'],
  });
  const { editor, team, modelUrl, procs } = stack;
  try {
    const suite = await editor.post('/v1/metric-suites', { name: 'sizing', purpose: 'exploratory', ownerTeam: team });
    await editor.post(`/v1/metric-suites/${suite.metricSuiteId}/versions`, {
      metrics: [
        { name: 'accuracy', metric: 'accuracy' },
        { name: 'f1', metric: 'f1', params: { average: 'macro' } },
        { name: 'auc', metric: 'roc_auc', params: { positiveLabel: 'spam' } },
        { name: 'log_loss', metric: 'log_loss' },
      ],
    });
    const model = await editor.post('/v1/models', { name: `sizing-${team}`, ownerTeam: team });
    const { modelVersion } = await editor.post(`/v1/models/${model.modelId}/versions`, {
      version: 'nb-v1',
      endpoint: { protocol: 'json-predict', url: `${modelUrl}/predict/nb-v1`, maxConcurrency: CONCURRENCY },
    });
    const dataset = await editor.post('/v1/datasets', { name: 'sizing', taskType: 'classification', ownerTeam: team });
    const up = await editor.ndjson(
      `/v1/datasets/${dataset.datasetId}/versions?labelPolicy=human_reviewed`,
      jsonl(team),
    );

    const database = new URL(config.EVALGATE_DATABASE_URL).pathname.slice(1);
    const pgStats = async () =>
      (
        await pool.query<{ xacts: string; written: string; backends: number }>(
          `SELECT xact_commit + xact_rollback AS xacts, tup_inserted + tup_updated + tup_deleted AS written,
                  numbackends AS backends FROM pg_stat_database WHERE datname = $1`,
          [database],
        )
      ).rows[0];
    // pg_stat_database is updated when a backend's transaction ends (and at most every second or so).
    const settle = () => new Promise((r) => setTimeout(r, 1500));
    await settle();
    const pgBefore = await pgStats();
    let peakBackends = pgBefore.backends;
    const sampler = setInterval(() => {
      pgStats().then(
        (s) => (peakBackends = Math.max(peakBackends, s.backends)),
        () => undefined,
      );
    }, 200);
    const cpuBefore = cpuSnapshot(procs);
    const started = performance.now();
    const { runId } = await editor.post('/v1/eval-runs', {
      modelVersion,
      datasetId: dataset.datasetId,
      metricSuiteId: suite.metricSuiteId,
    });
    const handle = temporal.workflow.getHandle(evalRunWorkflowId(runId));
    await handle.result();
    const seconds = (performance.now() - started) / 1000;
    const cpu = cpuBetween(cpuBefore, cpuSnapshot(procs));
    clearInterval(sampler);
    await settle();
    const pgAfter = await pgStats();
    const history = await handle.fetchHistory();
    const stored = (await storage.listSized(`runs/${runId}/`)).reduce((sum, o) => sum + o.size, 0);
    const run = await editor.get(`/v1/eval-runs/${runId}`);
    if (run.status !== 'succeeded') throw new Error(`run ended ${run.status}`);

    const perK = (x: number) => (x * 1000) / ROWS;
    const out = (label: string, value: string) => process.stdout.write(`  ${label.padEnd(52)}${value}\n`);
    process.stdout.write(
      `\nevalgate sizing (${new Date().toISOString()}, ${require('node:os').cpus().length} cores): ` +
        `${up.rowCount.toLocaleString()} examples (${(up.byteCount / up.rowCount / 1024).toFixed(2)} KB each), ` +
        `20 ms endpoint, concurrency ${CONCURRENCY}\n\n  per 1,000 examples\n`,
    );
    for (const [name, sec] of cpu)
      if (name !== 'model-server' && name !== 'bench (this process)') out(`CPU seconds, ${name}`, perK(sec).toFixed(3));
    out('PostgreSQL transactions', perK(Number(pgAfter.xacts) - Number(pgBefore.xacts)).toFixed(1));
    out('PostgreSQL rows written', perK(Number(pgAfter.written) - Number(pgBefore.written)).toFixed(1));
    out('object storage written (KB)', perK(stored / 1024).toFixed(1));
    out('object storage read: the dataset shards (KB)', perK(up.byteCount / 1024).toFixed(1));
    process.stdout.write('\n  per run\n');
    out('wall time (s)', seconds.toFixed(1));
    out('workflow history events', String(history.events?.length ?? 0));
    out('peak PostgreSQL connections (this database)', String(peakBackends));
    out('metric computation (s)', String((run.timing.metricsMs ?? 0) / 1000));
  } finally {
    await stack.stop();
    await pool.end();
    await connection.close();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
