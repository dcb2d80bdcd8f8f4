/**
 * The judge-incident story, end to end through the public API: a release gate on a judged
 * metric passes a candidate while its judge has drifted (every score inflated to the
 * top); an operator declares the judge wrong and names a replacement; judged gates answer
 * `frozen` meanwhile; the release runs it scored are re-judged from their stored outputs
 * (the generator is never called; the judge calls are budgeted and reported); the pass
 * is revoked; a new check of the same candidate fails on the honest scores.
 */
import type { PoolClient } from 'pg';
import { startEvalWorld, waitForRun, type EvalWorld } from '../../testkit/evalWorld';
import { operator, waitForIncident } from '../helpers/incidents';
import { unique } from '../../testkit/stack';
import { createGate, runCheck, waitForCheck } from '../../testkit/gates';
import {
  judgeDef,
  registerGenerationDataset,
  registerGenerator,
  registerJudgeModel,
} from '../integration/judge/judgeWorld';

let world: EvalWorld;
let dataset: { datasetId: string; rowCount: number };
let generator: string;
let replacementJudge: string;
let gateId: string;
let judgedGateId: string;

beforeAll(async () => {
  world = await startEvalWorld({ EVALGATE_ROWS_PER_SHARD: '20' });
  dataset = await registerGenerationDataset(world, { limit: 40 });
  [generator] = await registerGenerator(world, ['lead-v1']);
  const judge = await registerJudgeModel(world);
  replacementJudge = await registerJudgeModel(world);
  const suite = await world.editor.post('/v1/metric-suites', {
    name: unique('judged'),
    purpose: 'release_blocking',
    ownerTeam: world.team,
  });
  const version = await world.editor.post(`/v1/metric-suites/${suite.body.metricSuiteId}/versions`, {
    metrics: [{ name: 'quality', metric: 'judge_score' }],
    judge: judgeDef(judge),
    budget: { maxCalls: 500 },
  });
  expect(version.status).toBe(201);
  const gate = {
    ownerTeam: world.team,
    metricSuiteId: suite.body.metricSuiteId,
    datasetIds: [dataset.datasetId],
    baselineAlias: 'production',
  };
  gateId = await createGate(world.editor, { ...gate, rules: [{ metric: 'quality', kind: 'min', threshold: 0.9 }] });
  judgedGateId = await createGate(world.editor, {
    ...gate,
    rules: [{ metric: 'quality', kind: 'min', threshold: 0.1 }],
  });
}, 180_000);
afterAll(() => world.close());
afterEach(() => world.server.resetKnobs());

describe('a judge that drifted', () => {
  let passed: any;
  let runId: string;
  let incidentId: string;
  let lock: PoolClient;

  it('passes a candidate while every score it gives is inflated to the top', async () => {
    world.server.setKnobs({ judgeBias: 4 });
    passed = await runCheck(world.editor, gateId, generator);
    expect(passed.status).toBe('pass');
    expect(passed.reasons[0]).toMatchObject({ metric: 'quality', candidate: 1 });
    runId = passed.runs.datasets[0].candidateRunId;
  });

  it('is replaced by an operator: while the incident works, judged gates answer frozen', async () => {
    const run = await waitForRun(world.editor, runId);
    lock = await world.stack.pool.connect();
    await lock.query('BEGIN');
    await lock.query(
      `SELECT 1 FROM metric_results WHERE run_id = $1 AND metric_name = 'quality' AND superseded_at IS NULL FOR UPDATE`,
      [runId],
    );
    world.server.resetStats();
    const res = await operator(world).post('/v1/judge-incidents', {
      judgeFingerprint: run.lineage.judge.fingerprint,
      replacementJudge: { ...judgeDef(replacementJudge), params: { temperature: 0, seed: 21 } },
      note: 'the judge endpoint started answering 5 to everything after an upgrade',
    });
    expect(res.status).toBe(202);
    incidentId = res.body.incidentId;
    await waitForIncident(world, incidentId, 60_000, (b) => b.progress.step === 'finding_runs');
    const frozen = await runCheck(world.editor, judgedGateId, generator);
    expect(frozen.status).toBe('frozen');
    expect(frozen.reasons).toEqual([
      expect.objectContaining({ code: 'metric_frozen', metric: 'judge_score', incidentId }),
    ]);
  });

  it('re-judges the stored outputs (judge calls only, budgeted) and revokes the pass with the old and new values', async () => {
    await lock.query('COMMIT');
    lock.release();
    const incident = await waitForIncident(world, incidentId);
    expect(incident.status).toBe('resolved');
    expect(world.server.stats().requests.byModel).toEqual({ 'judge-v1': dataset.rowCount });
    expect(incident.report.rejudging.judgeCalls).toBe(dataset.rowCount);
    const { rows } = await world.stack.pool.query(
      'SELECT max_calls::int, reserved_calls::int FROM incident_budgets WHERE incident_id = $1 AND run_id = $2',
      [incidentId, runId],
    );
    expect(rows[0]).toEqual({ max_calls: 500, reserved_calls: dataset.rowCount });

    const revoked = await waitForCheck(world.editor, passed.checkId);
    expect(revoked.status).toBe('revoked');
    const rule = revoked.reasons.find((r: any) => r.metric === 'quality');
    expect(rule).toMatchObject({ verdict: 'fail', previous: { candidate: 1 } });
    expect(rule.candidate).toBeLessThan(0.9);
    expect(rule.message).toContain('was 1 (pass) when decided');
    expect(incident.report.valuesChanged.listed).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ runId, metricName: 'quality', oldValue: 1, newValue: rule.candidate }),
      ]),
    );
  });

  it('unfreezes: a new check of the same candidate fails on the honest scores, without calling anything', async () => {
    world.server.resetStats();
    const again = await runCheck(world.editor, gateId, generator);
    expect(again.status).toBe('fail');
    expect(again.runs.datasets[0].candidateRunId).toBe(runId);
    expect(world.server.stats().requests.total).toBe(0);
  });
});
