/**
 * A gate fails closed (BRIEF invariant 6): every way a check cannot stand behind a pass
 * blocks with a reason naming it. Changes made "mid-check" are made while the candidate's
 * run is still going (its endpoint is slowed with the reference server's knobs), which is
 * when an incident, a judge canary or an alias move would land in production.
 */
import { randomUUID } from 'node:crypto';
import { registerSpamModel, startEvalWorld, waitForRun, type EvalWorld } from '../../../testkit/evalWorld';
import { unique } from '../../../testkit/stack';
import {
  codes,
  createGate,
  releaseSuite,
  runCheck,
  setAlias,
  sliceRows,
  spamModel,
  uploadDataset,
  waitForCheck,
} from '../../../testkit/gates';

let world: EvalWorld;
let dataset: { datasetId: string };
let suite: { metricSuiteId: string };

const SMALL = { 'easy-ham': 20, 'hard-ham': 24, spam: 20 } as const;
const REGRESSION = { metric: 'accuracy', kind: 'max_regression', threshold: 0.05 };

beforeAll(async () => {
  world = await startEvalWorld({ EVALGATE_OVERRIDE_WINDOW_SECONDS: '5' });
  dataset = await uploadDataset(world, sliceRows(SMALL));
  suite = await releaseSuite(world, [{ name: 'accuracy', metric: 'accuracy' }]);
}, 180_000);
afterAll(() => world.close());
afterEach(() => world.server.resetKnobs());

const gate = (extra: Record<string, unknown> = {}, rules: unknown[] = [REGRESSION]) =>
  createGate(world.editor, {
    ownerTeam: world.team,
    metricSuiteId: suite.metricSuiteId,
    datasetIds: [dataset.datasetId],
    rules,
    ...extra,
  });

/**
 * Starts a check of a fresh logreg-v1 (nothing cached) against production nb-v1 with the
 * candidate's endpoint slowed, waits until the baseline run succeeded and the candidate's
 * is still going, applies `during`, and returns the decided check.
 */
async function checkWith(
  during: (runs: { checkId: string; candidateRunId: string; baselineRunId: string; modelId: string }) => Promise<void>,
  gateId?: string,
) {
  const model = await spamModel(world);
  world.server.setKnobs({ latencyMs: 3000, faultModels: ['logreg-v1'] });
  const started = await world.editor.post(`/v1/gates/${gateId ?? (await gate())}/checks`, {
    candidateModelVersion: model.v('logreg-v1'),
  });
  const planned = await waitForCheck(
    world.editor,
    started.body.checkId,
    30_000,
    (b) => b.runs.datasets.length > 0 || b.status !== 'pending',
  );
  expect(planned.status).toBe('pending');
  const [d] = planned.runs.datasets;
  await waitForRun(world.editor, d.baselineRunId, 30_000);
  expect((await world.editor.get(`/v1/eval-runs/${d.candidateRunId}`)).body.status).not.toBe('succeeded');
  await during({
    checkId: started.body.checkId,
    candidateRunId: d.candidateRunId,
    baselineRunId: d.baselineRunId,
    modelId: model.modelId,
  });
  return waitForCheck(world.editor, started.body.checkId, 90_000);
}

describe('a gate check fails closed', () => {
  it('with no baseline: the model has no production alias, and no run is started', async () => {
    const model = await spamModel(world, null);
    const check = await runCheck(world.editor, await gate(), model.v('logreg-v1'));
    expect(check.status).toBe('error');
    expect(codes(check)).toEqual(['no_baseline']);
    expect(check.reasons[0].message).toMatch(/no 'production' alias/);
    const { rows } = await world.stack.pool.query(
      'SELECT count(*)::int AS n FROM eval_runs r JOIN model_versions v USING (model_version_id) WHERE v.model_id = $1',
      [model.modelId],
    );
    expect(rows[0].n).toBe(0);
  });

  it('with a stale baseline: its only release run used an older dataset version', async () => {
    const own = await uploadDataset(world, sliceRows({ 'easy-ham': 10, spam: 10 }));
    const model = await spamModel(world);
    const baselineRun = await world.editor.post('/v1/eval-runs', {
      modelVersion: model.v('nb-v1'),
      datasetId: own.datasetId,
      metricSuiteId: suite.metricSuiteId,
      mode: 'release',
    });
    expect((await waitForRun(world.editor, baselineRun.body.runId)).status).toBe('succeeded');
    await uploadDataset(world, sliceRows({ 'easy-ham': 12, spam: 12 }), { datasetId: own.datasetId });
    const gateId = await createGate(world.editor, {
      ownerTeam: world.team,
      metricSuiteId: suite.metricSuiteId,
      datasetIds: [own.datasetId],
      rules: [REGRESSION],
      baselineRuns: 'require_existing',
    });
    const check = await runCheck(world.editor, gateId, model.v('logreg-v1'));
    expect(check.status).toBe('error');
    expect(codes(check)).toEqual(['stale_baseline']);
    expect(check.reasons[0]).toMatchObject({ runId: baselineRun.body.runId });
    expect(check.reasons[0].message).toMatch(/v1 .*now needs v2/);
  });

  it('with a stale baseline: the alias moved while the check ran', async () => {
    const check = await checkWith(async ({ modelId }) => {
      const name = (await world.editor.get(`/v1/models/${modelId}`)).body.name;
      await setAlias(world.editor, modelId, 'production', `${name}@keywords-v1`);
    });
    expect(check.status).toBe('error');
    expect(codes(check)).toContain('stale_baseline');
    expect(check.reasons.find((r: any) => r.code === 'stale_baseline').message).toMatch(
      /moved from .*@nb-v1 to .*@keywords-v1/,
    );
  });

  it('with an invalid run: the baseline run was invalidated mid-check', async () => {
    const check = await checkWith(async ({ baselineRunId }) => {
      await world.stack.pool.query(
        `UPDATE eval_runs SET status = 'invalid', invalid_reason = 'judge incident: test' WHERE run_id = $1`,
        [baselineRunId],
      );
    });
    expect(check.status).toBe('error');
    expect(codes(check)).toEqual(['run_invalid']);
    expect(check.reasons[0].message).toMatch(/invalidated: judge incident: test/);
  });

  it('with a failed run: the candidate endpoint is down', async () => {
    const model = await spamModel(world);
    world.server.setKnobs({ down: true, faultModels: ['keywords-v1'] });
    const check = await runCheck(world.editor, await gate(), model.v('keywords-v1'));
    expect(check.status).toBe('error');
    expect(codes(check)).toEqual(['run_failed']);
    expect(check.reasons[0].message).toMatch(/did not succeed \(model_unavailable/);
  }, 120_000);

  it('with a partial run: the baseline ran out of budget', async () => {
    const check = await checkWith(async ({ baselineRunId }) => {
      await world.stack.pool.query(`UPDATE eval_runs SET status = 'budget_exceeded' WHERE run_id = $1`, [
        baselineRunId,
      ]);
    });
    expect(codes(check)).toEqual(['run_partial']);
    expect(check.status).toBe('error');
  });

  it('with a judge-drift flag on a run', async () => {
    const check = await checkWith(async ({ baselineRunId }) => {
      await world.stack.pool.query(
        `UPDATE eval_runs SET judge_flags = judge_flags || '{"drift": true}'::jsonb WHERE run_id = $1`,
        [baselineRunId],
      );
    });
    expect(check.status).toBe('error');
    expect(codes(check)).toEqual(['judge_drift']);
  });

  it('with a dataset version deprecated mid-check', async () => {
    const own = await uploadDataset(world, sliceRows({ 'easy-ham': 8, 'hard-ham': 8, spam: 8 }));
    const gateId = await createGate(world.editor, {
      ownerTeam: world.team,
      metricSuiteId: suite.metricSuiteId,
      datasetIds: [own.datasetId],
      rules: [REGRESSION],
    });
    const check = await checkWith(async () => {
      await world.stack.pool.query(
        `UPDATE dataset_versions SET status = 'deprecated', deprecated_reason = 'contaminated (test)' WHERE dataset_id = $1`,
        [own.datasetId],
      );
    }, gateId);
    expect(check.status).toBe('error');
    expect(codes(check)).toEqual(expect.arrayContaining(['dataset_deprecated', 'stale_versions']));
  });

  it('with an internal error while deciding', async () => {
    const check = await checkWith(async ({ checkId }) => {
      // A check whose recorded runs point nowhere cannot be decided: the decide step fails every attempt.
      await world.stack.pool.query(
        `UPDATE gate_checks SET runs = jsonb_set(runs, '{datasets,0,baselineRunId}', to_jsonb($2::text)) WHERE check_id = $1`,
        [checkId, randomUUID()],
      );
    });
    expect(check.status).toBe('error');
    expect(codes(check)).toEqual(['internal']);
    expect(check.reasons[0].message).toMatch(/failed before it decided/);
  }, 120_000);
});

describe('a frozen metric', () => {
  let frozenSuite: { metricSuiteId: string };
  let incidentId: string;

  beforeAll(async () => {
    // ece is frozen only inside this block; no other gate in the suite of tests has a rule on it.
    frozenSuite = await releaseSuite(world, [
      { name: 'accuracy', metric: 'accuracy' },
      { name: 'calibration', metric: 'ece' },
    ]);
    const { rows } = await world.stack.pool.query(
      `INSERT INTO metric_incidents (kind, metric, note, workflow_id, created_by) SELECT 'metric_bug', 'ece',
      'ece binning bug (gate test)', $1, principal_id
         FROM principals ORDER BY created_at LIMIT 1 RETURNING incident_id`,
      [unique('test-incident')],
    );
    incidentId = rows[0].incident_id;
    await world.stack.pool.query('INSERT INTO metric_freezes (metric, incident_id) VALUES ($1, $2)', [
      'ece',
      incidentId,
    ]);
  });
  afterAll(async () => {
    await world.stack.pool.query('UPDATE metric_freezes SET unfrozen_at = now() WHERE incident_id = $1', [incidentId]);
    await world.stack.pool.query(
      `UPDATE metric_incidents SET status = 'resolved', resolved_at = now() WHERE incident_id = $1`,
      [incidentId],
    );
  });

  it('makes every check of a gate with a rule on it answer frozen, naming the incident', async () => {
    const model = await registerSpamModel(world, ['nb-v1', 'logreg-v1']);
    await setAlias(world.editor, model.modelId, 'production', model.versions[0]);
    const gateId = await createGate(world.editor, {
      ownerTeam: world.team,
      metricSuiteId: frozenSuite.metricSuiteId,
      datasetIds: [dataset.datasetId],
      rules: [
        { metric: 'accuracy', kind: 'min', threshold: 0.5 },
        { metric: 'calibration', kind: 'max', threshold: 0.2 },
      ],
    });
    const check = await runCheck(world.editor, gateId, model.versions[1]);
    expect(check.status).toBe('frozen');
    expect(check.reasons).toEqual([
      expect.objectContaining({ code: 'metric_frozen', verdict: 'frozen', metric: 'ece', incidentId }),
    ]);
    expect(check.reasons[0].message).toMatch(/calibration.*frozen by incident/);
    // Never overridable: an override cannot cover a frozen check.
    const override = await world.editor.post(`/v1/gate-checks/${check.checkId}/override-requests`, {
      justification: 'we really need to ship this today',
    });
    expect([override.status, override.body.error.code]).toEqual([409, 'gate_frozen']);
  });

  it('leaves gates without a rule on it alone', async () => {
    const model = await spamModel(world);
    const gateId = await createGate(world.editor, {
      ownerTeam: world.team,
      metricSuiteId: frozenSuite.metricSuiteId,
      datasetIds: [dataset.datasetId],
      rules: [{ metric: 'accuracy', kind: 'min', threshold: 0.5 }],
    });
    expect((await runCheck(world.editor, gateId, model.v('logreg-v1'))).status).toBe('pass');
  });
});
