import { WORKFLOW_TYPES, judgeIncidentWorkflowId, taskQueueFor } from '../../../common/names';
import { startEvalWorld, waitForRun, type EvalWorld } from '../../../testkit/evalWorld';
import type { judgeIncidentWorkflow } from '../../../workflows/judgeIncident';
import { incidentState, operator, recordDecidedCheck, waitForIncident } from '../../helpers/incidents';
import { judgeDef, registerGenerationDataset, registerGenerator, registerJudgeModel } from '../judge/judgeWorld';
import { unique } from '../../../testkit/stack';

let world: EvalWorld;
let dataset: { datasetId: string; rowCount: number };
let generator: string;
let badJudge: string;
let goodJudge: string;

beforeAll(async () => {
  world = await startEvalWorld({ EVALGATE_ROWS_PER_SHARD: '20' });
  dataset = await registerGenerationDataset(world, { limit: 40 });
  [generator] = await registerGenerator(world, ['lead-v1']);
  badJudge = await registerJudgeModel(world);
  goodJudge = await registerJudgeModel(world);
}, 120_000);
afterAll(() => world.close());
afterEach(() => world.server.resetKnobs());

/** A release-blocking suite judged by `judge`, and a release run of the generator on it with the judge drifting by `bias`. */
async function judgedRun(judge: string, bias: number, budget?: object, mode: 'release' | 'exploratory' = 'release') {
  const suite = await world.editor.post('/v1/metric-suites', {
    name: unique('judged'),
    purpose: 'release_blocking',
    ownerTeam: world.team,
  });
  const version = await world.editor.post(`/v1/metric-suites/${suite.body.metricSuiteId}/versions`, {
    metrics: [
      { name: 'quality', metric: 'judge_score' },
      { name: 'token_f1', metric: 'token_f1' },
    ],
    judge: judgeDef(judge),
    ...(budget ? { budget } : {}),
  });
  if (version.status !== 201) throw new Error(JSON.stringify(version.body));
  world.server.setKnobs({ judgeBias: bias });
  const started = await world.editor.post('/v1/eval-runs', {
    modelVersion: generator,
    datasetId: dataset.datasetId,
    metricSuiteId: suite.body.metricSuiteId,
    mode,
  });
  const run = await waitForRun(world.editor, started.body.runId);
  world.server.resetKnobs();
  expect(run.status).toBe('succeeded');
  return { run, metricSuiteId: suite.body.metricSuiteId as string };
}

const replacement = () => ({ ...judgeDef(goodJudge), params: { temperature: 0, seed: 11 } });

describe('a judge incident', () => {
  let drifted: Awaited<ReturnType<typeof judgedRun>>;
  let check: Awaited<ReturnType<typeof recordDecidedCheck>>;
  let incidentId: string;
  let fingerprint: string;

  beforeAll(async () => {
    // The judge drifted up by 4 points while it scored: every score is 5, every gate passes.
    drifted = await judgedRun(badJudge, 4);
    fingerprint = drifted.run.lineage.judge.fingerprint;
    expect(drifted.run.results.quality.value).toBe(1);
    check = await recordDecidedCheck(world, {
      metricSuiteId: drifted.metricSuiteId,
      modelId: '',
      datasets: [{ datasetId: dataset.datasetId, candidateRunId: drifted.run.runId }],
      rules: [{ metric: 'quality', kind: 'min', threshold: 0.9 }],
    });
    expect(check.status).toBe('pass');
  }, 180_000);

  it('validates the replacement like a suite judge, naming replacementJudge fields', async () => {
    const admin = operator(world);
    const unpinned = await admin.post('/v1/judge-incidents', {
      judgeFingerprint: fingerprint,
      replacementJudge: { ...replacement(), pinned: false },
      note: 'x',
    });
    expect(unpinned.body.error).toMatchObject({ code: 'invalid_request', field: 'replacementJudge.pinned' });
    const same = await admin.post('/v1/judge-incidents', {
      judgeFingerprint: fingerprint,
      replacementJudge: judgeDef(badJudge),
      note: 'x',
    });
    expect(same.body.error).toMatchObject({ code: 'invalid_request', field: 'replacementJudge' });
    const unknown = await admin.post('/v1/judge-incidents', {
      judgeFingerprint: 'ab'.repeat(16),
      replacementJudge: replacement(),
      note: 'x',
    });
    expect(unknown.status).toBe(404);
    expect(
      (
        await world.editor.post('/v1/judge-incidents', {
          judgeFingerprint: fingerprint,
          replacementJudge: replacement(),
          note: 'x',
        })
      ).status,
    ).toBe(403);
  });

  it('re-judges the stored outputs with the replacement: judge calls only, within budget, results replaced', async () => {
    world.server.resetStats();
    const res = await operator(world).post('/v1/judge-incidents', {
      judgeFingerprint: fingerprint,
      replacementJudge: replacement(),
      note: 'judge drifted +4 after an endpoint upgrade',
    });
    expect(res.status).toBe(202);
    incidentId = res.body.incidentId;
    const incident = await waitForIncident(world, incidentId);
    expect(incident).toMatchObject({
      kind: 'judge',
      status: 'resolved',
      judgeFingerprint: fingerprint,
      replacementJudge: { modelVersion: goodJudge },
    });
    // No generator call: the candidate outputs come from the stored records; one judge call per example.
    expect(world.server.stats().requests.byModel).toEqual({ 'judge-v1': dataset.rowCount });
    expect(incident.report.rejudging.judgeCalls).toBeGreaterThanOrEqual(dataset.rowCount);

    const run = await waitForRun(world.editor, drifted.run.runId);
    expect(run.status).toBe('succeeded');
    expect(run.results.quality.value).toBeLessThan(0.9);
    expect(run.results.quality.implVersion).toBe(
      `${drifted.run.results.quality.implVersion}+judge.${incident.replacementJudge.fingerprint.slice(0, 16)}`,
    );
    expect(run.results.token_f1).toEqual(drifted.run.results.token_f1); // not a judged metric: untouched
    const old = await world.stack.pool.query(
      `SELECT invalidated_by, superseded_by IS NOT NULL AS superseded FROM metric_results WHERE run_id = $1 AND ` +
        `metric_name = 'quality' ORDER BY result_id`,
      [run.runId],
    );
    expect(old.rows[0]).toEqual({ invalidated_by: incidentId, superseded: true });
  });

  it('keeps the original records and transcripts, and puts the re-judged ones where comparisons read them', async () => {
    const keys = await world.stack.storage.list(`runs/${drifted.run.runId}/`);
    const originals = keys.filter(
      (k) => k.includes(`incidents/${incidentId}/`) && k.endsWith('.jsonl') && k.includes('original-part-'),
    );
    expect(originals.length).toBeGreaterThan(0);
    const original = JSON.parse((await world.stack.storage.getBuffer(originals[0])).toString('utf8').split('\n')[0]);
    const current = JSON.parse(
      (
        await world.stack.storage.getBuffer(
          originals[0].replace(`incidents/${incidentId}/`, '').replace('original-part-', 'part-'),
        )
      )
        .toString('utf8')
        .split('\n')[0],
    );
    expect(original.id).toBe(current.id);
    expect(original.prediction).toEqual(current.prediction);
    expect(original.judgeScore).toBe(1);
    expect(current.judgeScore).toBeLessThan(1);
  });

  it('revokes the pass the drifted judge produced', async () => {
    const { rows } = await world.stack.pool.query(
      'SELECT status, reasons FROM gate_decisions WHERE check_id = $1 ORDER BY decision_id',
      [check.checkId],
    );
    expect(rows.map((r) => r.status)).toEqual(['pass', 'revoked']);
    expect(rows[1].reasons.find((r: any) => r.metric === 'quality')).toMatchObject({
      verdict: 'fail',
      previous: { candidate: 1 },
    });
  });

  it('reaches the same state when run again', async () => {
    const before = await incidentState(world.stack.pool, incidentId, [drifted.run.runId]);
    world.server.resetStats();
    await (
      await world.stack.temporal.workflow.start<typeof judgeIncidentWorkflow>(WORKFLOW_TYPES.judgeIncident, {
        workflowId: judgeIncidentWorkflowId(incidentId),
        taskQueue: taskQueueFor(world.stack.config.EVALGATE_TASK_QUEUE_PREFIX, 'release'),
        args: [{ incidentId, runParallelism: 2, shardParallelism: 2, heartbeatTimeoutMs: 5000 }],
      })
    ).result();
    expect(await incidentState(world.stack.pool, incidentId, [drifted.run.runId])).toEqual(before);
    expect(world.server.stats().requests.total).toBe(0);
  });

  it('invalidates a run whose re-judging the budget cannot cover, and revokes what it decided', async () => {
    // A second judge. An exploratory run (which no incident re-judges) fills the caches, so the
    // release run costs no call at all and its suite can allow just 5; re-judging needs 40.
    const otherBad = await registerJudgeModel(world);
    await judgedRun(otherBad, 3, undefined, 'exploratory');
    const cheap = await judgedRun(otherBad, 3, { maxCalls: 5 });
    expect(cheap.run.cost.calls).toBe(0);
    const decided = await recordDecidedCheck(world, {
      metricSuiteId: cheap.metricSuiteId,
      modelId: '',
      datasets: [{ datasetId: dataset.datasetId, candidateRunId: cheap.run.runId }],
      rules: [{ metric: 'quality', kind: 'min', threshold: 0.5 }],
    });
    expect(decided.status).toBe('pass');
    world.server.resetStats();
    const res = await operator(world).post('/v1/judge-incidents', {
      judgeFingerprint: cheap.run.lineage.judge.fingerprint,
      replacementJudge: { ...replacement(), params: { temperature: 0, seed: 12 } },
      note: 'drifted too',
    });
    const incident = await waitForIncident(world, res.body.incidentId);
    expect(incident.status).toBe('resolved');
    expect(incident.report.runs.unrecoverable).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ runId: cheap.run.runId, detail: expect.stringMatching(/budget/) }),
      ]),
    );
    expect(incident.report.runs.affected).toBe(1);
    expect(world.server.stats().requests.byModel['judge-v1'] ?? 0).toBeLessThanOrEqual(5); // never past the suite's cap
    const run = await waitForRun(world.editor, cheap.run.runId);
    expect(run.status).toBe('invalid');
    expect(run.invalidReason).toMatch(/could not be re-judged/);
    const check = await world.stack.pool.query('SELECT status FROM gate_checks WHERE check_id = $1', [decided.checkId]);
    expect(check.rows[0].status).toBe('revoked');
  });
});
