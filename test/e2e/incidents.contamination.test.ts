/**
 * The contamination story, end to end through the public API: a gate passes a candidate
 * against the production baseline on a dataset version; the candidate is released; the
 * version turns out contaminated and its owners deprecate it; new runs on it are refused
 * at once; its runs become invalid, the pass is revoked, the baseline built on it is
 * stale (in the report and the Prometheus gauge); a new check cannot pass on it; the
 * operators watch the workflow in Temporal.
 */
import { WORKFLOW_TYPES } from '../../common/names';
import { startEvalWorld, waitForRun, type EvalWorld } from '../../testkit/evalWorld';
import { waitForIncident } from '../helpers/incidents';
import { client } from '../../testkit/stack';
import {
  createGate,
  releaseSuite,
  runCheck,
  sliceRows,
  spamModel,
  uploadDataset,
  waitForCheck,
} from '../../testkit/gates';

let world: EvalWorld;
let model: Awaited<ReturnType<typeof spamModel>>;
let dataset: { datasetId: string; version: number };
let suite: { metricSuiteId: string };
let gateId: string;

beforeAll(async () => {
  world = await startEvalWorld({ EVALGATE_ROWS_PER_SHARD: '40' });
  dataset = await uploadDataset(world, sliceRows({ 'easy-ham': 40, 'hard-ham': 20, spam: 40 }));
  suite = await releaseSuite(world, [{ name: 'accuracy', metric: 'accuracy' }]);
  model = await spamModel(world, 'nb-v1');
  gateId = await createGate(world.editor, {
    ownerTeam: world.team,
    metricSuiteId: suite.metricSuiteId,
    datasetIds: [dataset.datasetId],
    baselineAlias: 'production',
    rules: [{ metric: 'accuracy', kind: 'max_regression', threshold: 0.1 }],
  });
}, 180_000);
afterAll(() => world.close());

describe('a contaminated dataset version', () => {
  let passed: any;
  let incidentId: string;

  it('first lets a candidate pass against the production baseline, and the release happens', async () => {
    passed = await runCheck(world.editor, gateId, model.v('logreg-v1'));
    expect(passed.status).toBe('pass');
    const moved = await world.editor.put(`/v1/models/${model.modelId}/aliases/production`, {
      modelVersion: model.v('logreg-v1'),
      gateCheckId: passed.checkId,
    });
    expect(moved.status).toBe(200);
  });

  it('is deprecated by its owners: new runs on it are refused at once', async () => {
    const res = await world.editor.post(`/v1/datasets/${dataset.datasetId}/versions/${dataset.version}/deprecate`, {
      reason: 'held-out emails were found in the training corpus',
    });
    expect(res.status).toBe(202);
    incidentId = res.body.incidentId;
    const refused = await world.editor.post('/v1/eval-runs', {
      modelVersion: model.v('keywords-v1'),
      datasetId: dataset.datasetId,
      datasetVersion: dataset.version,
      metricSuiteId: suite.metricSuiteId,
      mode: 'release',
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'dataset_deprecated', field: 'datasetVersion' });
  });

  it('invalidates every run on it, revokes the pass, and reports the release it allowed and the stale baseline', async () => {
    const incident = await waitForIncident(world, incidentId);
    expect(incident.status).toBe('resolved');
    const { candidateRunId, baselineRunId } = passed.runs.datasets[0];
    for (const runId of [candidateRunId, baselineRunId]) {
      const run = await waitForRun(world.editor, runId);
      expect(run.status).toBe('invalid');
      expect(run.invalidReason).toMatch(/held-out emails were found in the training corpus/);
    }
    const revoked = await waitForCheck(world.editor, passed.checkId);
    expect(revoked.status).toBe('revoked');
    expect(revoked.reasons[0]).toMatchObject({ code: 'revoked', incidentId });
    expect(incident.report.runs.invalidated).toBeGreaterThanOrEqual(2);
    expect(incident.report.decisions.revoked).toEqual([expect.objectContaining({ checkId: passed.checkId, gateId })]);
    expect(incident.report.aliasMovesOnRevokedDecisions).toEqual([
      expect.objectContaining({ alias: 'production', modelVersion: model.v('logreg-v1') }),
    ]);
    expect(incident.report.staleBaselines).toEqual([
      expect.objectContaining({ gateId, runs: [expect.objectContaining({ runId: baselineRunId })] }),
    ]);
  });

  it('counts the gate in the stale-baseline gauge', async () => {
    const metrics = await client(world.stack.baseUrl, world.stack.adminToken).get('/metrics');
    const gauge = /^evalgate_gates_stale_baseline (\d+)$/m.exec(metrics.body as string);
    expect(Number(gauge?.[1])).toBeGreaterThanOrEqual(1);
  });

  it('blocks a new check: the gate has no active version of its dataset to decide on', async () => {
    const again = await runCheck(world.editor, gateId, model.v('keywords-v1'));
    expect(again.status).toBe('error');
    expect(again.reasons).toEqual([expect.objectContaining({ code: 'dataset_deprecated' })]);
  });

  it('left a workflow operators can inspect in Temporal', async () => {
    const incident = await waitForIncident(world, incidentId);
    const description = await world.stack.temporal.workflow.getHandle(incident.workflowId).describe();
    expect(description.type).toBe(WORKFLOW_TYPES.datasetDeprecation);
    expect(description.status.name).toBe('COMPLETED');
  });
});
