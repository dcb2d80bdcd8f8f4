import { WORKFLOW_TYPES, metricRecomputeWorkflowId, taskQueueFor } from '../../../common/names';
import { runKeys } from '../../../domain/runs/keys';
import type { metricRecomputeWorkflow } from '../../../workflows/metricRecompute';
import {
  registerSpamDataset,
  registerSpamModel,
  registerSuite,
  startEvalWorld,
  waitForRun,
  type EvalWorld,
} from '../../../testkit/evalWorld';
import {
  declareMetricIncident,
  incidentState,
  operator,
  recordDecidedCheck,
  waitForIncident,
} from '../../helpers/incidents';
import { principal } from '../../../testkit/stack';

let world: EvalWorld;
let dataset: { datasetId: string; version: number; rowCount: number };
let model: { modelId: string; versions: string[] };
const RECALL = { metric: 'recall', params: { average: 'binary', positiveLabel: 'spam' } };

beforeAll(async () => {
  world = await startEvalWorld({ EVALGATE_ROWS_PER_SHARD: '60' });
  // Mostly spam: few false positives, so the buggy 'recall' (really precision) comes out well above the true recall.
  dataset = await registerSpamDataset(world, { mix: { spam: 150, 'easy-ham': 30, 'hard-ham': 20 } });
  model = await registerSpamModel(world, ['keywords-v1', 'nb-small-v1']);
}, 120_000);
afterAll(() => world.close());

async function runWith(implVersion: string, modelVersion = model.versions[0]) {
  const suite = await registerSuite(world, 'release_blocking', [
    { name: 'recall_spam', ...RECALL, implVersion },
    { name: 'accuracy', metric: 'accuracy' },
  ]);
  const started = await world.editor.post('/v1/eval-runs', {
    modelVersion,
    datasetId: dataset.datasetId,
    metricSuiteId: suite.metricSuiteId,
    mode: 'release',
  });
  return waitForRun(world.editor, started.body.runId);
}

const incidentBody = (note: string) => ({
  metric: 'recall',
  badImplVersions: ['0.9.0'],
  fixedImplVersion: '1.0.0',
  note,
});

describe('a metric-bug recompute', () => {
  let buggy: any;
  let fixed: any;
  let incidentId: string;
  let wronglyPassed: Awaited<ReturnType<typeof recordDecidedCheck>>;
  let wronglyFailed: Awaited<ReturnType<typeof recordDecidedCheck>>;
  let threshold: number;

  beforeAll(async () => {
    buggy = await runWith('0.9.0');
    fixed = await runWith('1.0.0');
    expect(buggy.status).toBe('succeeded');
    // The bug: 0.9.0 computes precision, which on this data is well above the true recall.
    expect(buggy.results.recall_spam.value).toBeGreaterThan(fixed.results.recall_spam.value + 0.1);
    threshold = Number(((buggy.results.recall_spam.value + fixed.results.recall_spam.value) / 2).toFixed(3));
    const check = (rules: unknown[]) =>
      recordDecidedCheck(world, {
        metricSuiteId: buggy.lineage.metricSuite.metricSuiteId,
        modelId: model.modelId,
        rules,
        datasets: [{ datasetId: dataset.datasetId, candidateRunId: buggy.runId }],
      });
    wronglyPassed = await check([
      { metric: 'recall_spam', kind: 'min', threshold },
      { metric: 'accuracy', kind: 'min', threshold: 0.1 },
    ]);
    wronglyFailed = await check([{ metric: 'recall_spam', kind: 'max', threshold }]);
    expect([wronglyPassed.status, wronglyFailed.status]).toEqual(['pass', 'fail']);
  }, 180_000);

  it('recomputes from stored records with the fixed version, without one model call', async () => {
    world.server.resetStats();
    incidentId = await declareMetricIncident(world, incidentBody('recall@0.9.0 divides by predicted positives'));
    const incident = await waitForIncident(world, incidentId);
    expect(incident.status).toBe('resolved');
    expect(world.server.stats().requests.total).toBe(0);

    const after = await waitForRun(world.editor, buggy.runId);
    expect(after.results.recall_spam.implVersion).toBe('1.0.0');
    // Bit for bit what a fresh run with the fixed version computes from the same predictions.
    expect(after.results.recall_spam.value).toBe(fixed.results.recall_spam.value);
    expect(after.results.recall_spam.n).toBe(fixed.results.recall_spam.n);
    expect(after.results.accuracy).toEqual(buggy.results.accuracy);

    const change = incident.report.valuesChanged.listed.find((c: any) => c.runId === buggy.runId);
    expect(change).toMatchObject({
      metricName: 'recall_spam',
      oldImplVersion: '0.9.0',
      newImplVersion: '1.0.0',
      oldValue: buggy.results.recall_spam.value,
      newValue: fixed.results.recall_spam.value,
    });
    expect(incident.report.frozen).toEqual([
      expect.objectContaining({ metric: 'recall', unfrozenAt: expect.any(String) }),
    ]);
    expect(incident.progress).toMatchObject({ step: 'done', runsRecomputed: expect.any(Number) });
  });

  it('keeps the old result, marked superseded by the new one — nothing overwritten or deleted', async () => {
    const { rows } = await world.stack.pool.query(
      `SELECT result_id::text, impl_version, value, superseded_at, superseded_by::text, incident_id FROM metric_results
        WHERE run_id = $1 AND metric_name = 'recall_spam' ORDER BY result_id`,
      [buggy.runId],
    );
    expect(rows).toHaveLength(2);
    const [old, current] = rows;
    expect(old).toMatchObject({
      impl_version: '0.9.0',
      value: buggy.results.recall_spam.value,
      superseded_by: current.result_id,
      incident_id: null,
    });
    expect(old.superseded_at).toBeInstanceOf(Date);
    expect(current).toMatchObject({ impl_version: '1.0.0', superseded_at: null, incident_id: incidentId });
  });

  it('revokes the decision that passed on the buggy value, with the old and new values in its reason', async () => {
    const { rows } = await world.stack.pool.query(
      `SELECT status, cause, incident_id, reasons, result_ids::text[] FROM gate_decisions WHERE check_id = $1 ORDER BY decision_id`,
      [wronglyPassed.checkId],
    );
    expect(rows.map((r) => r.status)).toEqual(['pass', 'revoked']);
    const revocation = rows[1];
    expect(revocation).toMatchObject({ cause: 'incident', incident_id: incidentId });
    expect(revocation.reasons[0]).toMatchObject({
      code: 'revoked',
      incidentId,
      message: expect.stringMatching(/no longer passes/),
    });
    const rule = revocation.reasons.find((r: any) => r.metric === 'recall_spam');
    expect(rule).toMatchObject({
      verdict: 'fail',
      candidate: fixed.results.recall_spam.value,
      previous: { verdict: 'pass', candidate: buggy.results.recall_spam.value },
    });
    const short = (v: number) => Number(v.toFixed(4)).toString();
    expect(rule.message).toContain(`was ${short(buggy.results.recall_spam.value)}`);
    expect(rule.message).toContain(`recomputed ${short(fixed.results.recall_spam.value)}`);
    // The revocation names the recomputed result it used, not the superseded one.
    const current = await world.stack.pool.query(
      `SELECT result_id::text FROM metric_results WHERE run_id = $1 AND metric_name = 'recall_spam' AND superseded_at IS NULL`,
      [buggy.runId],
    );
    expect(revocation.result_ids).toContain(current.rows[0].result_id);
    const check = await world.stack.pool.query('SELECT status FROM gate_checks WHERE check_id = $1', [
      wronglyPassed.checkId,
    ]);
    expect(check.rows[0].status).toBe('revoked');
  });

  it('reports a decision that failed on the buggy value and now passes, without flipping it', async () => {
    const check = await world.stack.pool.query('SELECT status FROM gate_checks WHERE check_id = $1', [
      wronglyFailed.checkId,
    ]);
    expect(check.rows[0].status).toBe('fail');
    const decisions = await world.stack.pool.query(
      'SELECT count(*)::int AS n FROM gate_decisions WHERE check_id = $1',
      [wronglyFailed.checkId],
    );
    expect(decisions.rows[0].n).toBe(1);
    const incident = await waitForIncident(world, incidentId);
    expect(incident.report.decisions.nowPassing).toEqual(
      expect.arrayContaining([expect.objectContaining({ checkId: wronglyFailed.checkId })]),
    );
    expect(incident.report.decisions.revoked).toEqual(
      expect.arrayContaining([expect.objectContaining({ checkId: wronglyPassed.checkId })]),
    );
  });

  it('leaves runs already on the fixed version alone', async () => {
    const { rows } = await world.stack.pool.query('SELECT count(*)::int AS n FROM metric_results WHERE run_id = $1', [
      fixed.runId,
    ]);
    expect(rows[0].n).toBe(2); // recall_spam and accuracy, computed once
    const touched = await world.stack.pool.query('SELECT 1 FROM incident_runs WHERE incident_id = $1 AND run_id = $2', [
      incidentId,
      fixed.runId,
    ]);
    expect(touched.rows).toHaveLength(0);
  });

  it('reaches the same state when the workflow runs a second time', async () => {
    const before = await incidentState(world.stack.pool, incidentId, [buggy.runId, fixed.runId]);
    world.server.resetStats();
    const handle = await world.stack.temporal.workflow.start<typeof metricRecomputeWorkflow>(
      WORKFLOW_TYPES.metricRecompute,
      {
        workflowId: metricRecomputeWorkflowId(incidentId),
        taskQueue: taskQueueFor(world.stack.config.EVALGATE_TASK_QUEUE_PREFIX, 'release'),
        args: [{ incidentId, runParallelism: 2, shardParallelism: 2, heartbeatTimeoutMs: 5000 }],
      },
    );
    await handle.result();
    expect(await incidentState(world.stack.pool, incidentId, [buggy.runId, fixed.runId])).toEqual(before);
    expect(world.server.stats().requests.total).toBe(0);
  });

  it('reaches the same state after a reset to the middle of the workflow (the freeze done, the rest to do again)', async () => {
    const before = await incidentState(world.stack.pool, incidentId, [buggy.runId, fixed.runId]);
    const workflowId = metricRecomputeWorkflowId(incidentId);
    const { events } = await world.stack.temporal.workflow.getHandle(workflowId).fetchHistory();
    // The workflow task that scheduled collectAffectedRuns: resetting to it replays the freeze and redoes everything after.
    const collect = events!.findIndex(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'collectAffectedRuns',
    );
    const resetTo = events!
      .slice(0, collect)
      .reverse()
      .find((e) => e.workflowTaskCompletedEventAttributes);
    expect(resetTo).toBeDefined();
    const { runId } = await world.stack.temporal.workflowService.resetWorkflowExecution({
      namespace: world.stack.config.EVALGATE_TEMPORAL_NAMESPACE,
      workflowExecution: { workflowId },
      reason: 'test: reset halfway',
      workflowTaskFinishEventId: resetTo!.eventId,
      requestId: `reset-${incidentId}-${Date.now()}`,
    });
    const reset = world.stack.temporal.workflow.getHandle(workflowId, runId!);
    await reset.result();
    expect(await incidentState(world.stack.pool, incidentId, [buggy.runId, fixed.runId])).toEqual(before);
    const { events: redone } = await reset.fetchHistory();
    const scheduled = redone!.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
    // The new execution really ran the second half again, against the state the first one left.
    expect(scheduled).toEqual(
      expect.arrayContaining([
        'collectAffectedRuns',
        'pendingIncidentRuns',
        'redecideAfterRecompute',
        'endMetricIncident',
      ]),
    );
  });

  it('marks a run whose stored records are gone unrecoverable instead of inventing a number', async () => {
    const lost = await runWith('0.9.0', model.versions[1]);
    const parts = await world.stack.storage.list(runKeys.shardPrefix(lost.runId, 2));
    await world.stack.storage.remove(parts.filter((k) => k.includes('part-')));
    const id = await declareMetricIncident(world, incidentBody('second look at recall@0.9.0'));
    const incident = await waitForIncident(world, id);
    expect(incident.status).toBe('resolved');
    expect(incident.report.runs.unrecoverable).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ runId: lost.runId, detail: expect.stringMatching(/shard 2/) }),
      ]),
    );
    const run = await waitForRun(world.editor, lost.runId);
    expect(run.results.recall_spam.implVersion).toBe('0.9.0');
  });
});

describe('declaring a metric incident', () => {
  it('is for operators only', async () => {
    const res = await world.editor.post('/v1/metric-incidents', incidentBody('not mine to declare'));
    expect(res.status).toBe(403);
  });

  it.each([
    [{ metric: 'recal', badImplVersions: ['0.9.0'], fixedImplVersion: '1.0.0', note: 'x' }, 'metric'],
    [{ metric: 'recall', badImplVersions: ['0.8.0'], fixedImplVersion: '1.0.0', note: 'x' }, 'badImplVersions[0]'],
    [{ metric: 'recall', badImplVersions: ['0.9.0'], fixedImplVersion: '9.9.9', note: 'x' }, 'fixedImplVersion'],
    [{ metric: 'recall', badImplVersions: ['1.0.0'], fixedImplVersion: '1.0.0', note: 'x' }, 'fixedImplVersion'],
    [{ metric: 'recall', badImplVersions: [], fixedImplVersion: '1.0.0', note: 'x' }, 'badImplVersions'],
    [{ metric: 'recall', badImplVersions: ['0.9.0'], fixedImplVersion: '1.0.0', note: ' ' }, 'note'],
  ])('refuses %j naming the field', async (body, field) => {
    const res = await operator(world).post('/v1/metric-incidents', body);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', field });
    const { rows } = await world.stack.pool.query(
      'SELECT count(*)::int AS n FROM metric_incidents WHERE note = $1 AND metric = $2',
      [body.note, body.metric],
    );
    expect(rows[0].n).toBe(0);
  });

  it('answers 404 for an unknown incident and for one of another kind', async () => {
    const viewer = await principal(world.stack, 'viewer', [{ team: world.team, roles: ['viewer'] }]);
    expect((await viewer.get('/v1/metric-incidents/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    const { rows } = await world.stack.pool.query(
      `SELECT incident_id FROM metric_incidents WHERE kind = 'metric_bug' ORDER BY created_at DESC LIMIT 1`,
    );
    expect((await viewer.get(`/v1/metric-incidents/${rows[0].incident_id}`)).status).toBe(200);
    expect((await viewer.get(`/v1/judge-incidents/${rows[0].incident_id}`)).status).toBe(404);
  });

  it('lists incidents newest first, a page at a time', async () => {
    const first = await operator(world).get('/v1/incidents?kind=metric_bug&limit=1');
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(1);
    expect(first.body.items[0]).toMatchObject({ kind: 'metric_bug', metric: 'recall' });
    const second = await operator(world).get(`/v1/incidents?kind=metric_bug&limit=1&cursor=${first.body.nextCursor}`);
    expect(second.body.items[0].incidentId).not.toBe(first.body.items[0].incidentId);
    expect(Date.parse(second.body.items[0].createdAt)).toBeLessThanOrEqual(Date.parse(first.body.items[0].createdAt));
    const bad = await operator(world).get('/v1/incidents?cursor=nope');
    expect(bad.body.error).toMatchObject({ code: 'invalid_request', field: 'cursor' });
  });
});
