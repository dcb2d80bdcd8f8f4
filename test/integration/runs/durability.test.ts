/**
 * A worker killed with SIGKILL mid-run: another worker picks the run up from the shards'
 * checkpoints, the run finishes with the values of an uninterrupted run, and the model
 * server saw at most the rows plus one shard's worth of repeated calls.
 */
import { createModelServer, type ModelServer } from '../../../testkit/modelServer/server';
import {
  principal,
  startTestStack,
  testStackAllowText,
  unique,
  type ApiClient,
  type TestStack,
} from '../../../testkit/stack';
import { waitForRun } from '../../../testkit/evalWorld';
import { datasetJsonl } from '../../../testkit/corpus/writeDatasets';
import { killWorkerProcess, startWorkerProcess } from '../../../testkit/workerProcess';

const ROWS_PER_SHARD = 100;

let stack: TestStack;
let server: ModelServer;
let editor: ApiClient;
let workerEnv: NodeJS.ProcessEnv;
let team: string;

beforeAll(async () => {
  const prefix = unique('dur').toLowerCase();
  stack = await startTestStack({
    EVALGATE_TASK_QUEUE_PREFIX: prefix,
    EVALGATE_SHARD_HEARTBEAT_TIMEOUT_MS: '3000',
    EVALGATE_ROWS_PER_SHARD: String(ROWS_PER_SHARD),
    EVALGATE_SHARD_PARALLELISM: '2',
  });
  workerEnv = {
    ...process.env,
    // The worker process needs the stack's allow entries for the model server, as the in-process API has them.
    EVALGATE_ENDPOINT_ALLOW: testStackAllowText(process.env.EVALGATE_ENDPOINT_ALLOW),
    EVALGATE_TASK_QUEUE_PREFIX: prefix,
    EVALGATE_PART_ROWS: '20',
    EVALGATE_LOG_LEVEL: 'warn',
    EVALGATE_DATABASE_URL: stack.config.EVALGATE_DATABASE_URL,
    EVALGATE_S3_BUCKET: stack.config.EVALGATE_S3_BUCKET,
  };
  server = await createModelServer({ knobs: { latencyMs: 15 } });
  team = unique('ml');
  editor = await principal(stack, 'editor', [{ team, roles: ['editor'] }]);
}, 60_000);
afterAll(async () => {
  await server.close();
  await stack.close();
});

it('finishes a run after its worker is SIGKILLed, with identical values and no more than one shard of repeated calls', async () => {
  const dataset = await editor.post('/v1/datasets', {
    name: unique('spam'),
    taskType: 'classification',
    ownerTeam: team,
  });
  const datasetId = dataset.body.datasetId;
  const body =
    datasetJsonl('classification', { tags: ['easy-ham'], limit: 300 }) +
    datasetJsonl('classification', { tags: ['hard-ham'], limit: 60 }) +
    datasetJsonl('classification', { tags: ['spam'], limit: 240 });
  const up = await editor.ndjson(`/v1/datasets/${datasetId}/versions?labelPolicy=human_reviewed`, body);
  expect(up.body.rowCount).toBe(600);
  const suite = await editor.post('/v1/metric-suites', {
    name: unique('suite'),
    purpose: 'exploratory',
    ownerTeam: team,
  });
  await editor.post(`/v1/metric-suites/${suite.body.metricSuiteId}/versions`, {
    metrics: [
      { name: 'accuracy', metric: 'accuracy' },
      { name: 'auc', metric: 'roc_auc', params: { positiveLabel: 'spam' } },
      { name: 'log_loss', metric: 'log_loss' },
    ],
  });
  const model = await editor.post('/v1/models', { name: unique('clf'), ownerTeam: team });
  const versions: string[] = [];
  for (const v of ['interrupted', 'uninterrupted']) {
    const res = await editor.post(`/v1/models/${model.body.modelId}/versions`, {
      version: v,
      endpoint: { protocol: 'json-predict', url: server.predictUrl('nb-v1') },
    });
    versions.push(res.body.modelVersion);
  }
  const start = (modelVersion: string) =>
    editor.post('/v1/eval-runs', { modelVersion, datasetId, metricSuiteId: suite.body.metricSuiteId });

  let worker = startWorkerProcess(workerEnv);
  try {
    const { runId } = (await start(versions[0])).body;
    await waitForRun(
      editor,
      runId,
      90_000,
      (b) => b.progress.done >= 200 || (b.status !== 'running' && b.status !== 'queued'),
    );
    killWorkerProcess(worker);
    const atKill = (await editor.get(`/v1/eval-runs/${runId}`)).body;
    expect(atKill.status).toBe('running');
    expect(atKill.progress.done).toBeLessThan(600);

    worker = startWorkerProcess(workerEnv);
    const interrupted = await waitForRun(editor, runId, 120_000);
    expect(interrupted.status).toBe('succeeded');
    expect(interrupted.progress.done).toBe(600);
    const calls = server.stats().requests.total;
    expect(calls).toBeGreaterThanOrEqual(600);
    expect(calls).toBeLessThanOrEqual(600 + ROWS_PER_SHARD);

    const baseline = await waitForRun(editor, (await start(versions[1])).body.runId, 120_000);
    expect(baseline.status).toBe('succeeded');
    for (const name of ['accuracy', 'auc', 'log_loss']) {
      expect(interrupted.results[name].value).toBe(baseline.results[name].value);
      expect(interrupted.results[name].n).toBe(600);
    }
  } finally {
    killWorkerProcess(worker);
  }
}, 300_000);
