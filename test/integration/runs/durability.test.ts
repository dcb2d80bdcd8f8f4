/**
 * A worker killed with SIGKILL mid-run — its whole process group, the tsx launcher and the Node
 * process it started: another worker picks the run up from the shards' checkpoints, the run finishes
 * with the values of an uninterrupted run, and the model server saw at most the rows plus one shard's
 * worth of repeated calls.
 */
import { startDrillWorld, type DrillWorld } from '../../../testkit/drillWorld';
import { registerSpamDataset, registerSuite } from '../../../testkit/evalWorld';
import { liveGroupMembers } from '../../../testkit/processes';
import { unique } from '../../../testkit/stack';

const ROWS_PER_SHARD = 100;

let world: DrillWorld;

beforeAll(async () => {
  world = await startDrillWorld({
    stack: {
      EVALGATE_SHARD_HEARTBEAT_TIMEOUT_MS: '3000',
      EVALGATE_ROWS_PER_SHARD: String(ROWS_PER_SHARD),
      EVALGATE_SHARD_PARALLELISM: '2',
    },
    worker: { EVALGATE_PART_ROWS: '20' },
    modelLatencyMs: 15,
  });
}, 60_000);
afterAll(() => world.close());

it('finishes a run after its worker is SIGKILLed, with identical values and no more than one shard of repeated calls', async () => {
  const { editor, server } = world;
  const { datasetId, rowCount } = await registerSpamDataset(world, {
    mix: { 'easy-ham': 300, 'hard-ham': 60, spam: 240 },
  });
  expect(rowCount).toBe(600);
  const { metricSuiteId } = await registerSuite(world, 'exploratory', [
    { name: 'accuracy', metric: 'accuracy' },
    { name: 'auc', metric: 'roc_auc', params: { positiveLabel: 'spam' } },
    { name: 'log_loss', metric: 'log_loss' },
  ]);
  const model = await editor.post('/v1/models', { name: unique('clf'), ownerTeam: world.team });
  const versions: string[] = [];
  for (const v of ['interrupted', 'uninterrupted']) {
    const res = await editor.post(`/v1/models/${model.body.modelId}/versions`, {
      version: v,
      endpoint: { protocol: 'json-predict', url: server.predictUrl('nb-v1') },
    });
    versions.push(res.body.modelVersion);
  }
  const start = (modelVersion: string) => editor.post('/v1/eval-runs', { modelVersion, datasetId, metricSuiteId });

  const group = world.startWorker();
  const { runId } = (await start(versions[0])).body;
  await world.pollRun(
    runId,
    (b) => b.progress.done >= 200 || (b.status !== 'running' && b.status !== 'queued'),
    90_000,
  );
  // A tree: tsx's launcher and the worker's Node process, in one process group that dies whole.
  expect(liveGroupMembers(group).length).toBeGreaterThanOrEqual(2);
  world.killWorker();
  for (const deadline = Date.now() + 10_000; liveGroupMembers(group).length && Date.now() < deadline;)
    await new Promise((r) => setTimeout(r, 50));
  expect(liveGroupMembers(group)).toEqual([]);
  const atKill = (await editor.get(`/v1/eval-runs/${runId}`)).body;
  expect(atKill.status).toBe('running');
  expect(atKill.progress.done).toBeLessThan(600);

  world.startWorker();
  const interrupted = await world.pollRun(runId, undefined, 120_000);
  expect(interrupted.status).toBe('succeeded');
  expect(interrupted.progress.done).toBe(600);
  const calls = server.stats().requests.total;
  expect(calls).toBeGreaterThanOrEqual(600);
  expect(calls).toBeLessThanOrEqual(600 + ROWS_PER_SHARD);

  const baseline = await world.pollRun((await start(versions[1])).body.runId, undefined, 120_000);
  expect(baseline.status).toBe('succeeded');
  for (const name of ['accuracy', 'auc', 'log_loss']) {
    expect(interrupted.results[name].value).toBe(baseline.results[name].value);
    expect(interrupted.results[name].n).toBe(600);
  }
}, 300_000);
