/**
 * Stale baselines are detected on every gate check and comparison, and counted by the
 * Prometheus gauge. Here the baseline's stored records are gone, so a metric incident
 * cannot recompute it: its recall stays at the retracted recall@0.9.0 — a stale baseline.
 */
import { runKeys } from '../../../domain/runs/keys';
import { gatesWithStaleBaselines } from '../../../domain/lineage/staleness';
import { registerSuite, startEvalWorld, waitForRun, type EvalWorld } from '../../../testkit/evalWorld';
import { declareMetricIncident, waitForIncident } from '../../helpers/incidents';
import { client } from '../../../testkit/stack';
import { createGate, runCheck, sliceRows, spamModel, uploadDataset } from '../../../testkit/gates';

let world: EvalWorld;
let model: Awaited<ReturnType<typeof spamModel>>;
let baselineRunId: string;
let gateId: string;

beforeAll(async () => {
  world = await startEvalWorld({ EVALGATE_ROWS_PER_SHARD: '30' });
  const dataset = await uploadDataset(world, sliceRows({ 'easy-ham': 30, spam: 30 }));
  const suite = await registerSuite(world, 'release_blocking', [
    { name: 'accuracy', metric: 'accuracy' },
    { name: 'recall_spam', metric: 'recall', params: { positiveLabel: 'spam' }, implVersion: '0.9.0' },
  ]);
  model = await spamModel(world, 'nb-v1');
  const started = await world.editor.post('/v1/eval-runs', {
    modelVersion: model.v('nb-v1'),
    datasetId: dataset.datasetId,
    metricSuiteId: suite.metricSuiteId,
    mode: 'release',
  });
  baselineRunId = (await waitForRun(world.editor, started.body.runId)).runId;
  const parts = await world.stack.storage.list(runKeys.shardPrefix(baselineRunId, 1));
  await world.stack.storage.remove(parts.filter((k) => /\/part-\d+\.jsonl$/.test(k)));
  const incidentId = await declareMetricIncident(world, {
    metric: 'recall',
    badImplVersions: ['0.9.0'],
    fixedImplVersion: '1.0.0',
    note: 'stale-baseline test',
  });
  const incident = await waitForIncident(world, incidentId);
  expect(incident.report.runs.unrecoverable).toEqual(
    expect.arrayContaining([expect.objectContaining({ runId: baselineRunId })]),
  );
  gateId = await createGate(world.editor, {
    ownerTeam: world.team,
    metricSuiteId: suite.metricSuiteId,
    datasetIds: [dataset.datasetId],
    baselineAlias: 'production',
    rules: [{ metric: 'accuracy', kind: 'max_regression', threshold: 0.5 }],
  });
}, 180_000);
afterAll(() => world.close());

describe('a stale baseline', () => {
  let candidateRunId: string;

  it('blocks a gate check with a stale_baseline reason naming the retracted implementation', async () => {
    const check = await runCheck(world.editor, gateId, model.v('logreg-v1'));
    expect(check.status).toBe('error');
    expect(check.runs.datasets[0].baselineRunId).toBe(baselineRunId);
    const stale = check.reasons.find((r: any) => r.code === 'stale_baseline');
    expect(stale).toMatchObject({ verdict: 'error', runId: baselineRunId });
    expect(stale.message).toMatch(
      /recall_spam was computed with recall@0\.9\.0, retracted by incident .* \(fixed in 1\.0\.0\)/,
    );
    candidateRunId = check.runs.datasets[0].candidateRunId;
  });

  it('is named in a comparison against it', async () => {
    const res = await world.editor.get(`/v1/eval-runs/${candidateRunId}/comparison?baseline=${baselineRunId}`);
    expect(res.status).toBe(200);
    expect(res.body.staleBaseline).toEqual([expect.stringMatching(/retracted by incident/)]);
    expect(res.body.warnings).toEqual(expect.arrayContaining([expect.stringMatching(/^stale baseline: /)]));
  });

  it('is counted by the gauge of gates with a stale baseline', async () => {
    const stale = await gatesWithStaleBaselines(world.stack.pool);
    expect(stale).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ gateId, runs: [expect.objectContaining({ runId: baselineRunId })] }),
      ]),
    );
    const metrics = await client(world.stack.baseUrl, world.stack.adminToken).get('/metrics');
    const value = Number(/^evalgate_gates_stale_baseline (\d+)$/m.exec(metrics.body as string)?.[1]);
    expect(value).toBeGreaterThanOrEqual(1);
  });
});
