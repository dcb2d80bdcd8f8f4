import { WORKFLOW_TYPES, datasetDeprecationWorkflowId, evalRunWorkflowId, taskQueueFor } from '../../../common/names';
import type { datasetDeprecationWorkflow } from '../../../workflows/datasetDeprecation';
import {
  registerSpamDataset,
  registerSpamModel,
  registerSuite,
  startEvalWorld,
  waitForRun,
  type EvalWorld,
} from '../../../testkit/evalWorld';
import { incidentState, recordDecidedCheck, waitForIncident } from '../../helpers/incidents';
import { principal } from '../../../testkit/stack';

let world: EvalWorld;
let suite: { metricSuiteId: string };
let model: { modelId: string; versions: string[] };

beforeAll(async () => {
  world = await startEvalWorld({ EVALGATE_ROWS_PER_SHARD: '50' });
  suite = await registerSuite(world, 'release_blocking', [{ name: 'accuracy', metric: 'accuracy' }]);
  model = await registerSpamModel(world, ['nb-v1', 'logreg-v1']);
}, 120_000);
afterAll(() => world.close());

async function releaseRun(datasetId: string, modelVersion = model.versions[0]) {
  const started = await world.editor.post('/v1/eval-runs', {
    modelVersion,
    datasetId,
    metricSuiteId: suite.metricSuiteId,
    mode: 'release',
  });
  if (started.status !== 202) throw new Error(`run refused: ${JSON.stringify(started.body)}`);
  return waitForRun(world.editor, started.body.runId);
}

describe('deprecating a contaminated dataset version', () => {
  let contaminated: { datasetId: string; version: number };
  let clean: { datasetId: string };
  let onContaminated: any;
  let onClean: any;
  let check: Awaited<ReturnType<typeof recordDecidedCheck>>;
  let incidentId: string;

  beforeAll(async () => {
    contaminated = await registerSpamDataset(world, { limit: 100 });
    clean = await registerSpamDataset(world, { limit: 60 });
    onContaminated = await releaseRun(contaminated.datasetId);
    onClean = await releaseRun(clean.datasetId);
    check = await recordDecidedCheck(world, {
      metricSuiteId: suite.metricSuiteId,
      modelId: model.modelId,
      rules: [{ metric: 'accuracy', kind: 'min', threshold: 0.5 }],
      moveAlias: 'production',
      datasets: [
        { datasetId: contaminated.datasetId, candidateRunId: onContaminated.runId },
        { datasetId: clean.datasetId, candidateRunId: onClean.runId },
      ],
    });
    expect(check.status).toBe('pass');
  }, 180_000);

  it('refuses a principal without the editor role on the dataset, and an empty reason', async () => {
    const viewer = await principal(world.stack, 'viewer', [{ team: world.team, roles: ['viewer'] }]);
    expect(
      (
        await viewer.post(`/v1/datasets/${contaminated.datasetId}/versions/1/deprecate`, {
          reason: 'leaked into training',
        })
      ).status,
    ).toBe(403);
    const empty = await world.editor.post(`/v1/datasets/${contaminated.datasetId}/versions/1/deprecate`, {
      reason: '  ',
    });
    expect(empty.body.error).toMatchObject({ code: 'invalid_request', field: 'reason' });
    const still = await world.editor.get(`/v1/datasets/${contaminated.datasetId}/versions/1`);
    expect(still.body.status).toBe('active');
  });

  it('deprecates the version at once: a new run on it gets 409 dataset_deprecated', async () => {
    const res = await world.editor.post(`/v1/datasets/${contaminated.datasetId}/versions/1/deprecate`, {
      reason: 'test rows leaked into the training set',
    });
    expect(res.status).toBe(202);
    expect(res.body.version).toMatchObject({
      status: 'deprecated',
      deprecatedReason: 'test rows leaked into the training set',
    });
    incidentId = res.body.incidentId;
    const refused = await world.editor.post('/v1/eval-runs', {
      modelVersion: model.versions[1],
      datasetId: contaminated.datasetId,
      datasetVersion: 1,
      metricSuiteId: suite.metricSuiteId,
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('dataset_deprecated');
  });

  it('invalidates the runs on it with the reason, and only those', async () => {
    const incident = await waitForIncident(world, incidentId);
    expect(incident).toMatchObject({
      kind: 'dataset_contamination',
      status: 'resolved',
      progress: { step: 'done', runsInvalidated: 1 },
    });
    const run = await waitForRun(world.editor, onContaminated.runId);
    expect(run.status).toBe('invalid');
    expect(run.invalidReason).toMatch(/deprecated by incident .*test rows leaked/);
    expect(run.results.accuracy.value).toBe(onContaminated.results.accuracy.value); // kept, not deleted
    expect((await waitForRun(world.editor, onClean.runId)).status).toBe('succeeded');
  });

  it('revokes the decision that relied on them, and reports the alias it moved', async () => {
    const { rows } = await world.stack.pool.query(
      `SELECT status, cause, incident_id, reasons, run_ids::text[] FROM gate_decisions WHERE check_id = $1 ORDER BY decision_id`,
      [check.checkId],
    );
    expect(rows.map((r) => r.status)).toEqual(['pass', 'revoked']);
    expect(rows[1]).toMatchObject({ cause: 'incident', incident_id: incidentId });
    expect(rows[1].reasons.map((r: any) => r.message).join(' ')).toMatch(
      new RegExp(`${onContaminated.runId}.*deprecated`),
    );
    expect(rows[1].reasons[0]).toMatchObject({ code: 'revoked', incidentId });
    const checkRow = await world.stack.pool.query('SELECT status FROM gate_checks WHERE check_id = $1', [
      check.checkId,
    ]);
    expect(checkRow.rows[0].status).toBe('revoked');
    const incident = await waitForIncident(world, incidentId);
    expect(incident.report.decisions.revoked).toEqual([
      expect.objectContaining({ checkId: check.checkId, gateId: check.gateId }),
    ]);
    expect(incident.report.aliasMovesOnRevokedDecisions).toEqual([
      expect.objectContaining({ checkId: check.checkId, alias: 'production', modelVersion: model.versions[0] }),
    ]);
  });

  it('answers a repeated deprecation with the same incident, and a rerun of the workflow changes nothing', async () => {
    const again = await world.editor.post(`/v1/datasets/${contaminated.datasetId}/versions/1/deprecate`, {
      reason: 'said twice',
    });
    expect(again.status).toBe(200);
    expect(again.body.incidentId).toBe(incidentId);
    const runIds = [onContaminated.runId, onClean.runId];
    const before = await incidentState(world.stack.pool, incidentId, runIds);
    const { rows } = await world.stack.pool.query(
      'SELECT dataset_version_id FROM metric_incidents WHERE incident_id = $1',
      [incidentId],
    );
    const handle = await world.stack.temporal.workflow.start<typeof datasetDeprecationWorkflow>(
      WORKFLOW_TYPES.datasetDeprecation,
      {
        workflowId: datasetDeprecationWorkflowId(rows[0].dataset_version_id),
        taskQueue: taskQueueFor(world.stack.config.EVALGATE_TASK_QUEUE_PREFIX, 'release'),
        args: [{ incidentId, runParallelism: 1, shardParallelism: 1, heartbeatTimeoutMs: 5000 }],
      },
    );
    await handle.result();
    expect(await incidentState(world.stack.pool, incidentId, runIds)).toEqual(before);
  });

  it('is undone by a reinstatement incident, not a silent edit: the version is active, what it invalidated stays recorded', async () => {
    const res = await world.editor.post(`/v1/datasets/${contaminated.datasetId}/versions/1/reinstate`, {
      reason: 'the leak was in another dataset',
    });
    expect(res.status).toBe(201);
    expect(res.body.version.status).toBe('active');
    expect(res.body.report).toMatchObject({ reverses: { incidentId }, runsStillInvalid: 1, decisionsStillRevoked: 1 });
    const reinstatement = await waitForIncident(world, res.body.incidentId);
    expect(reinstatement).toMatchObject({
      kind: 'dataset_reinstatement',
      status: 'resolved',
      note: 'the leak was in another dataset',
    });
    const audit = await world.stack.pool.query(
      `SELECT action FROM audit_log WHERE entity_kind = 'dataset_version' AND detail->>'incidentId' = ANY($1::text[]) ORDER BY audit_id`,
      [[incidentId, res.body.incidentId]],
    );
    expect(audit.rows.map((r) => r.action)).toEqual(['dataset_version.deprecate', 'dataset_version.reinstate']);
    expect((await waitForRun(world.editor, onContaminated.runId)).status).toBe('invalid');
    const rerun = await releaseRun(contaminated.datasetId, model.versions[1]);
    expect(rerun.status).toBe('succeeded');
    expect(
      (await world.editor.post(`/v1/datasets/${contaminated.datasetId}/versions/1/reinstate`, { reason: 'twice' }))
        .status,
    ).toBe(409);
  });

  it('invalidates and stops a run still going on the version', async () => {
    const slow = await registerSpamDataset(world, { limit: 200 });
    world.server.setKnobs({ latencyMs: 1500 });
    try {
      const started = await world.editor.post('/v1/eval-runs', {
        modelVersion: model.versions[1],
        datasetId: slow.datasetId,
        metricSuiteId: suite.metricSuiteId,
        mode: 'release',
      });
      await waitForRun(world.editor, started.body.runId, 30_000, (b) => b.status === 'running' && b.progress.done > 0);
      const res = await world.editor.post(`/v1/datasets/${slow.datasetId}/versions/1/deprecate`, {
        reason: 'contaminated while it ran',
      });
      await waitForIncident(world, res.body.incidentId);
      const handle = world.stack.temporal.workflow.getHandle(evalRunWorkflowId(started.body.runId));
      expect(await handle.result()).toEqual({ status: 'cancelled' });
      const run = await waitForRun(world.editor, started.body.runId);
      expect(run.status).toBe('invalid');
      expect(run.progress.done).toBeLessThan(200);
    } finally {
      world.server.resetKnobs();
    }
  });
});
