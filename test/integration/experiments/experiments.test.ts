/**
 * Online experiments against the real stack: a passed gate check starts one, the serving system
 * asks for variants and posts events over HTTP (testkit/traffic.ts), and the workflow decides —
 * a harmful candidate is rolled back early, lost treatment exposures are caught as a sample-ratio
 * mismatch, an A/A candidate is promoted (the alias moves, its history naming the experiment and the
 * check), and an incident that revokes the check rolls its experiment back.
 */
import { aliasHistory } from '../../../domain/models/dal';
import {
  createGate,
  releaseSuite,
  runCheck,
  sliceRows,
  spamModel,
  uploadDataset,
  waitForExperiment,
} from '../../../testkit/gates';
import { startEvalWorld, type EvalWorld } from '../../../testkit/evalWorld';
import { principal, unique, type ApiClient } from '../../../testkit/stack';
import { driveTraffic } from '../../../testkit/traffic';

let world: EvalWorld;
let model: Awaited<ReturnType<typeof spamModel>>;
let passedCheckId: string;
let failedCheckId: string;
let gateId: string;
let viewer: ApiClient;
let stranger: ApiClient;

const errorRate = [{ name: 'error_rate', event: 'error', direction: 'lower_is_better', margin: 0.05 }];

async function start(extra: Record<string, unknown> = {}, checkId = passedCheckId) {
  const res = await world.editor.post('/v1/experiments', {
    name: unique('exp'),
    ownerTeam: world.team,
    candidate: model.v('logreg-v1'),
    gateCheckId: checkId,
    guardrails: errorRate,
    checkEverySeconds: 1,
    ...extra,
  });
  if (res.status !== 201) throw new Error(`experiment: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.experimentId as string;
}

const waitFor = (experimentId: string, done: (e: any) => boolean, timeoutMs?: number) =>
  waitForExperiment(world.editor, experimentId, done, timeoutMs);

beforeAll(async () => {
  world = await startEvalWorld();
  const dataset = await uploadDataset(world, sliceRows({ 'easy-ham': 30, 'hard-ham': 30, spam: 30 }));
  const suite = await releaseSuite(world);
  model = await spamModel(world);
  gateId = await createGate(world.editor, {
    ownerTeam: world.team,
    metricSuiteId: suite.metricSuiteId,
    datasetIds: [dataset.datasetId],
    rules: [{ metric: 'accuracy', kind: 'max_regression', threshold: 0.05 }],
  });
  const strict = await createGate(world.editor, {
    ownerTeam: world.team,
    metricSuiteId: suite.metricSuiteId,
    datasetIds: [dataset.datasetId],
    rules: [{ metric: 'accuracy', kind: 'min', threshold: 0.999 }],
  });
  const [passed, failed] = await Promise.all([
    runCheck(world.editor, gateId, model.v('logreg-v1')),
    runCheck(world.editor, strict, model.v('logreg-v1')),
  ]);
  expect([passed.status, failed.status]).toEqual(['pass', 'fail']);
  passedCheckId = passed.checkId;
  failedCheckId = failed.checkId;
  viewer = await principal(world.stack, 'viewer', [{ team: world.team, roles: ['viewer'] }]);
  stranger = await principal(world.stack, 'stranger', [{ team: unique('elsewhere'), roles: ['editor'] }]);
}, 300_000);
afterAll(() => world.close());

describe('starting an experiment', () => {
  it('needs a passed or overridden check of the candidate (409 gate_not_passed)', async () => {
    const body = {
      name: unique('exp'),
      ownerTeam: world.team,
      candidate: model.v('logreg-v1'),
      guardrails: errorRate,
    };
    const failed = await world.editor.post('/v1/experiments', { ...body, gateCheckId: failedCheckId });
    expect([failed.status, failed.body.error.code, failed.body.error.field]).toEqual([
      409,
      'gate_not_passed',
      'gateCheckId',
    ]);
    const other = await world.editor.post('/v1/experiments', {
      ...body,
      candidate: model.v('nb-small-v1'),
      gateCheckId: passedCheckId,
    });
    expect([other.status, other.body.error.code]).toEqual([409, 'gate_not_passed']);
    const bad = await world.editor.post('/v1/experiments', { ...body, gateCheckId: passedCheckId, guardrails: [] });
    expect([bad.status, bad.body.error.code, bad.body.error.field]).toEqual([400, 'invalid_request', 'guardrails']);
    const byViewer = await viewer.post('/v1/experiments', { ...body, gateCheckId: passedCheckId });
    expect(byViewer.status).toBe(403);
  });

  it('is idempotent by key, and visible to the owning team only', async () => {
    const body = {
      name: unique('exp'),
      ownerTeam: world.team,
      candidate: model.v('logreg-v1'),
      gateCheckId: passedCheckId,
      guardrails: errorRate,
      ramp: [{ percent: 10, minSeconds: 3600 }],
      idempotencyKey: unique('key'),
    };
    const first = await world.editor.post('/v1/experiments', body);
    const again = await world.editor.post('/v1/experiments', body);
    expect([first.status, again.status, again.body.experimentId]).toEqual([201, 200, first.body.experimentId]);
    expect(first.body.workflowId).toBe(`experiment:${first.body.experimentId}`);
    const id = first.body.experimentId;
    expect((await stranger.get(`/v1/experiments/${id}`)).status).toBe(404);
    expect((await stranger.get(`/v1/experiments/${id}/assignment?unit=u1`)).status).toBe(404);
    expect((await viewer.post(`/v1/experiments/${id}/rollback`, { reason: 'no' })).status).toBe(403);
    const e = await waitFor(id, (x) => x.percent === 10, 30_000);
    expect(e).toMatchObject({
      status: 'running',
      step: 0,
      candidate: model.v('logreg-v1'),
      baseline: model.v('nb-v1'),
    });

    // Assignment: deterministic, cacheable, the variant's model version.
    // The serving path caches the experiment's percent for a second (it may have cached the 0% of before the first step).
    await new Promise((r) => setTimeout(r, 1100));
    const a = await viewer.get(`/v1/experiments/${id}/assignment?unit=user-42`);
    expect(a.headers.get('cache-control')).toBe('private, max-age=1');
    expect(a.body).toMatchObject({ unit: 'user-42', percent: 10 });
    expect(a.body.modelVersion).toBe(a.body.variant === 'treatment' ? model.v('logreg-v1') : model.v('nb-v1'));
    expect((await viewer.get(`/v1/experiments/${id}/assignment?unit=user-42`)).body).toEqual(a.body);

    // Events: bad lines rejected with their numbers, good ones kept, an eventId counted once.
    const lines = [
      JSON.stringify({ type: 'exposure', unit: 'user-1', eventId: 'e1' }),
      '{not json',
      JSON.stringify({ type: 'metric', unit: 'user-1', event: 'latency', value: 3 }),
      JSON.stringify({ type: 'metric', unit: 'user-1', event: 'error', value: 'high' }),
      JSON.stringify({ type: 'metric', unit: 'user-1', event: 'error', value: 1, eventId: 'e2' }),
    ].join('\n');
    const posted = await world.editor.ndjson(`/v1/experiments/${id}/events`, lines);
    expect(posted.status).toBe(202);
    expect(posted.body.accepted).toBe(2);
    expect(posted.body.rejected.map((r: any) => [r.line, r.code])).toEqual([
      [2, 'invalid_json'],
      [3, 'unknown_event'],
      [4, 'invalid_event'],
    ]);
    const repeat = await world.editor.ndjson(`/v1/experiments/${id}/events`, lines);
    expect(repeat.body).toMatchObject({ accepted: 2, counted: 0 });
    expect((await viewer.ndjson(`/v1/experiments/${id}/events`, lines)).status).toBe(403);
    const status = (await world.editor.get(`/v1/experiments/${id}`)).body;
    expect(status.exposures.control + status.exposures.treatment).toBe(1);

    // A person's rollback: the workflow records it, treatment goes to 0%, the alias stays.
    expect((await world.editor.post(`/v1/experiments/${id}/pause`, {})).status).toBe(202);
    await waitFor(id, (x) => x.status === 'paused' && x.percent === 0, 30_000);
    expect((await world.editor.post(`/v1/experiments/${id}/resume`, {})).status).toBe(202);
    await waitFor(id, (x) => x.status === 'running' && x.percent === 10, 30_000);
    expect((await world.editor.post(`/v1/experiments/${id}/rollback`, { reason: 'support tickets' })).status).toBe(202);
    const ended = await waitFor(id, (x) => x.status === 'rolled_back', 30_000);
    expect(ended).toMatchObject({
      percent: 0,
      decision: { status: 'rolled_back', reason: 'manual', message: 'support tickets' },
    });
    expect((await world.editor.post(`/v1/experiments/${id}/rollback`, { reason: 'again' })).body.error.code).toBe(
      'already_decided',
    );
    const gate = (await world.editor.get(`/v1/gates/${gateId}`)).body;
    expect(gate.experiments.map((x: any) => x.experimentId)).toContain(id);
  }, 120_000);
});

describe('deciding on live traffic', () => {
  it('rolls back a harmful candidate (error rate 5% → 20%) before 4,000 units', async () => {
    const id = await start({ ramp: [{ percent: 50, minSeconds: 600, minUnits: 1_000_000 }] });
    const run = await driveTraffic(
      world.editor,
      { seed: 11, rate: { control: 0.05, treatment: 0.2 } },
      {
        experimentId: id,
        unitsPerRound: 100,
        roundMs: 20,
        timeoutMs: 60_000,
      },
    );
    expect(run.status).toMatchObject({ status: 'rolled_back', percent: 0, decision: { reason: 'guardrail_harm' } });
    expect(run.status.exposures.control + run.status.exposures.treatment).toBeLessThan(4000);
    expect(run.status.guardrails[0].verdict).toBe('fail');
  }, 90_000);

  it('rolls back with sample_ratio_mismatch when 40% of treatment exposures are lost', async () => {
    const id = await start({ ramp: [{ percent: 50, minSeconds: 600, minUnits: 1_000_000 }] });
    const run = await driveTraffic(
      world.editor,
      { seed: 12, rate: { control: 0.05, treatment: 0.05 }, lostTreatmentExposures: 0.4 },
      { experimentId: id, unitsPerRound: 100, roundMs: 20, timeoutMs: 60_000 },
    );
    expect(run.status).toMatchObject({ status: 'rolled_back', decision: { reason: 'sample_ratio_mismatch' } });
    expect(run.status.srm.ok).toBe(false);
  }, 90_000);

  it('rolls back with gate_revoked when an incident revokes the check behind it', async () => {
    const dataset = await uploadDataset(world, sliceRows({ 'easy-ham': 20, 'hard-ham': 20, spam: 20 }));
    const suite = await releaseSuite(world);
    const gate = await createGate(world.editor, {
      ownerTeam: world.team,
      metricSuiteId: suite.metricSuiteId,
      datasetIds: [dataset.datasetId],
      rules: [{ metric: 'accuracy', kind: 'max_regression', threshold: 0.1 }],
    });
    const check = await runCheck(world.editor, gate, model.v('logreg-v1'));
    expect(check.status).toBe('pass');
    const id = await start({ ramp: [{ percent: 10, minSeconds: 3600 }] }, check.checkId);
    await waitFor(id, (e) => e.percent === 10, 30_000);
    const deprecated = await world.editor.post(
      `/v1/datasets/${dataset.datasetId}/versions/${dataset.version}/deprecate`,
      {
        reason: 'test rows leaked into training',
      },
    );
    expect(deprecated.status).toBe(202);
    const ended = await waitFor(id, (e) => e.status === 'rolled_back', 120_000);
    expect(ended).toMatchObject({ percent: 0, decision: { status: 'rolled_back', reason: 'gate_revoked' } });
    expect(ended.decision.message).toContain(check.checkId);
    expect((await world.editor.get(`/v1/gate-checks/${check.checkId}`)).body.status).toBe('revoked');
  }, 180_000);

  it('promotes an A/A candidate through the ramp: the alias moves, its history naming the experiment and the check', async () => {
    const id = await start({
      ramp: [
        { percent: 20, minSeconds: 2, minUnits: 300 },
        { percent: 50, minSeconds: 3, minUnits: 3000, maxSeconds: 120 },
      ],
    });
    const run = await driveTraffic(
      world.editor,
      { seed: 13, rate: { control: 0.05, treatment: 0.05 } },
      {
        experimentId: id,
        unitsPerRound: 100,
        roundMs: 20,
        timeoutMs: 120_000,
      },
    );
    expect(run.status).toMatchObject({
      status: 'promoted',
      step: 1,
      percent: 100,
      decision: { reason: 'guardrails_passed' },
    });
    expect(run.status.history.map((h: any) => h.event)).toEqual(['created', 'step', 'step', 'promoted']);
    const m = (await world.editor.get(`/v1/models/${model.modelId}`)).body;
    expect(m.aliases.production).toBe(model.v('logreg-v1'));
    const history = await aliasHistory(world.stack.pool, model.modelId, 'production');
    expect(history[history.length - 1]).toMatchObject({
      version: 'logreg-v1',
      previous: 'nb-v1',
      gate_check_id: passedCheckId,
      experiment_id: id,
    });
    // Lineage: check → experiment → alias move.
    const lineage = (await world.editor.get(`/v1/lineage/gate_check/${passedCheckId}?direction=downstream`)).body;
    const move = lineage.nodes.find((n: any) => n.kind === 'alias_move' && n.attrs.experimentId === id);
    expect(move).toBeDefined();
    expect(lineage.edges).toEqual(
      expect.arrayContaining([
        { from: `gate_check:${passedCheckId}`, to: `experiment:${id}`, relation: 'started' },
        { from: `experiment:${id}`, to: move.id, relation: 'promoted' },
      ]),
    );
    // Put production back for the other tests.
    await world.editor.put(`/v1/models/${model.modelId}/aliases/production`, { modelVersion: model.v('nb-v1') });
  }, 150_000);
});
