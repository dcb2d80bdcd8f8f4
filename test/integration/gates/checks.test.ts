/**
 * Gate definitions and checks as clients see them: versioned gates, validation with the
 * field at fault, idempotent and shared checks (one workflow for concurrent CI jobs),
 * reuse of existing runs, the long-poll, and who may see or start what.
 */
import { WORKFLOW_TYPES, releaseGateWorkflowId } from '../../../common/names';
import { registerSuite, startEvalWorld, type EvalWorld } from '../../../testkit/evalWorld';
import { client, principal, unique, type ApiClient } from '../../../testkit/stack';
import { createGate, releaseSuite, runCheck, sliceRows, spamModel, uploadDataset } from '../../../testkit/gates';

let world: EvalWorld;
let dataset: { datasetId: string };
let suite: { metricSuiteId: string };
let model: Awaited<ReturnType<typeof spamModel>>;
let viewer: ApiClient;
let stranger: ApiClient;

beforeAll(async () => {
  world = await startEvalWorld({ EVALGATE_OVERRIDE_WINDOW_SECONDS: '5', EVALGATE_GATE_WAIT_MAX_SECONDS: '2' });
  dataset = await uploadDataset(world, sliceRows({ 'easy-ham': 30, 'hard-ham': 30, spam: 30 }));
  suite = await releaseSuite(world);
  model = await spamModel(world);
  viewer = await principal(world.stack, 'viewer', [{ team: world.team, roles: ['viewer'] }]);
  stranger = await principal(world.stack, 'stranger', [{ team: unique('elsewhere'), roles: ['editor'] }]);
}, 180_000);
afterAll(() => world.close());
afterEach(() => world.server.resetKnobs());

const gateBody = (extra: Record<string, unknown> = {}) => ({
  name: unique('gate'),
  ownerTeam: world.team,
  metricSuiteId: suite.metricSuiteId,
  datasetIds: [dataset.datasetId],
  rules: [{ metric: 'accuracy', kind: 'max_regression', threshold: 0.05 }],
  ...extra,
});

describe('gate definitions', () => {
  it('are versioned like the registry: same content answers the same version, new content is the next one', async () => {
    const body = gateBody();
    const first = await world.editor.post('/v1/gates', body);
    expect([first.status, first.body.version]).toEqual([201, 1]);
    const again = await world.editor.post('/v1/gates', body);
    expect([again.status, again.body]).toEqual([200, first.body]);
    const changed = await world.editor.post('/v1/gates', {
      ...body,
      rules: [...body.rules, { metric: 'f1_spam', kind: 'min', threshold: 0.8, blocking: false }],
    });
    expect([changed.status, changed.body.gateId, changed.body.version]).toEqual([201, first.body.gateId, 2]);

    const gate = (await world.editor.get(`/v1/gates/${first.body.gateId}`)).body;
    expect(gate.versions.map((v: any) => v.version)).toEqual([1, 2]);
    expect(gate.latest).toMatchObject({
      requiredApprovals: 2,
      overrideTtlHours: 24,
      baselineAlias: 'production',
      baselineRuns: 'start_missing',
    });
    expect(gate.latest.rules.map((r: any) => r.id)).toEqual(['accuracy:max_regression', 'f1_spam:min']);
    expect((await world.editor.get(`/v1/gates?name=${encodeURIComponent(body.name)}`)).body.items).toEqual([
      expect.objectContaining({ gateId: first.body.gateId }),
    ]);

    const otherTeam = await principal(world.stack, 'other-editor', [{ team: unique('team'), roles: ['editor'] }]);
    const otherTeamName = (await otherTeam.get('/v1/principals/me')).body.teams[0].team;
    // Another team's suite needs its owners' consent first (a share) ...
    const unshared = await otherTeam.post('/v1/gates', { ...body, ownerTeam: otherTeamName });
    expect([unshared.status, unshared.body.error.code, unshared.body.error.field]).toEqual([
      403,
      'forbidden',
      'metricSuiteId',
    ]);
    // ... and with it, the name still belongs to the gate's team.
    const share = await world.editor.put(`/v1/metric-suites/${body.metricSuiteId}/shares/${otherTeamName}`);
    expect(share.status).toBeLessThan(300);
    const stolen = await otherTeam.post('/v1/gates', { ...body, ownerTeam: otherTeamName });
    expect([stolen.status, stolen.body.error.code, stolen.body.error.field]).toEqual([409, 'already_exists', 'name']);
  });

  it.each([
    [
      'a rule on a metric the suite lacks',
      { rules: [{ metric: 'recall', kind: 'min', threshold: 0.5 }] },
      400,
      'rules[0].metric',
    ],
    ['min without a threshold', { rules: [{ metric: 'accuracy', kind: 'min' }] }, 400, 'rules[0].threshold'],
    [
      'non_inferiority without a margin',
      { rules: [{ metric: 'accuracy', kind: 'non_inferiority' }] },
      400,
      'rules[0].margin',
    ],
    ['must_pass without a dataset', { rules: [{ metric: 'accuracy', kind: 'must_pass' }] }, 400, 'rules[0].datasetId'],
    [
      'relative on a min rule',
      { rules: [{ metric: 'accuracy', kind: 'min', threshold: 0.5, relative: true }] },
      400,
      'rules[0].relative',
    ],
    [
      'a negative max_regression',
      { rules: [{ metric: 'accuracy', kind: 'max_regression', threshold: -0.1 }] },
      400,
      'rules[0].threshold',
    ],
    [
      'the same rule twice',
      {
        rules: [
          { metric: 'accuracy', kind: 'min', threshold: 0.5 },
          { metric: 'accuracy', kind: 'min', threshold: 0.6 },
        ],
      },
      400,
      'rules[1].name',
    ],
    ['an unknown dataset', { datasetIds: ['00000000-0000-4000-8000-000000000000'] }, 404, 'datasetIds[0]'],
    ['no rules', { rules: [] }, 400, 'rules'],
  ])('refuses %s, naming the field', async (_what, extra, status, field) => {
    const res = await world.editor.post('/v1/gates', gateBody(extra));
    expect([res.status, res.body.error.field]).toEqual([status, field]);
    expect(res.body.error.message.length).toBeGreaterThan(10);
  });

  it('refuses an exploratory suite, a viewer and an anonymous caller', async () => {
    const exploratory = await registerSuite(world, 'exploratory');
    const res = await world.editor.post('/v1/gates', gateBody({ metricSuiteId: exploratory.metricSuiteId }));
    expect([res.status, res.body.error.field]).toEqual([400, 'metricSuiteId']);
    expect(res.body.error.message).toMatch(/release-blocking/);
    expect((await viewer.post('/v1/gates', gateBody())).status).toBe(403);
    expect((await client(world.stack.baseUrl).post('/v1/gates', gateBody())).status).toBe(401);
  });
});

describe('gate checks', () => {
  let gateId: string;
  beforeAll(async () => {
    gateId = await createGate(world.editor, gateBody());
  });

  it('share one check and one workflow between concurrent identical requests', async () => {
    const fresh = await spamModel(world);
    world.server.resetStats();
    const post = (key?: string) =>
      world.editor.post(`/v1/gates/${gateId}/checks`, {
        candidateModelVersion: fresh.v('logreg-v1'),
        ...(key ? { idempotencyKey: key } : {}),
      });
    const keyed = await Promise.all(Array.from({ length: 6 }, () => post('ci-run-42')));
    expect(new Set(keyed.map((r) => r.body.checkId)).size).toBe(1);
    expect(keyed.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 202]);
    // Without a key, a pending check of the same candidate is shared too.
    const unkeyed = await Promise.all(Array.from({ length: 6 }, () => post()));
    expect(new Set(unkeyed.map((r) => r.body.checkId)).size).toBe(1);

    const checkIds = [keyed[0].body.checkId, unkeyed[0].body.checkId];
    for (const checkId of checkIds) {
      const description = await world.stack.temporal.workflow.getHandle(releaseGateWorkflowId(checkId)).describe();
      expect(description.type).toBe(WORKFLOW_TYPES.releaseGate);
    }
    const decided = await Promise.all(checkIds.map((id) => runCheckById(id)));
    expect(decided.map((c) => c.status)).toEqual(['pass', 'pass']);
    // Both checks evaluated the same two runs, each example predicted once per model.
    expect(decided[0].runs.datasets[0].candidateRunId).toBe(decided[1].runs.datasets[0].candidateRunId);
    expect(world.server.stats().requests.total).toBe(2 * 90);
    const { rows } = await world.stack.pool.query(
      'SELECT count(*)::int AS n FROM gate_checks c JOIN model_versions v ON v.model_version_id = ' +
        'c.candidate_model_version_id WHERE v.model_id = $1',
      [fresh.modelId],
    );
    expect(rows[0].n).toBeLessThanOrEqual(2);
  });

  it('answer a repeated key with the same decided check, and a new key with a new check that reuses the runs', async () => {
    const first = await runCheck(world.editor, gateId, model.v('logreg-v1'), {
      idempotencyKey: 'pipeline-7',
      commitSha: 'abc1234',
    });
    const repeated = await world.editor.post(`/v1/gates/${gateId}/checks`, {
      candidateModelVersion: model.v('logreg-v1'),
      idempotencyKey: 'pipeline-7',
    });
    expect([repeated.status, repeated.body]).toEqual([200, { checkId: first.checkId, status: first.status }]);
    world.server.resetStats();
    const second = await runCheck(world.editor, gateId, model.v('logreg-v1'), { idempotencyKey: 'pipeline-8' });
    expect(second.checkId).not.toBe(first.checkId);
    expect(second.runs.datasets[0]).toMatchObject({
      candidateRunId: first.runs.datasets[0].candidateRunId,
      started: [],
    });
    expect(world.server.stats().requests.total).toBe(0);
    expect(first.commitSha).toBe('abc1234');
  });

  it('long-polls: answers as soon as the check decides, and never waits past the cap', async () => {
    const fresh = await spamModel(world);
    world.server.setKnobs({ latencyMs: 4000, faultModels: ['logreg-v1'] });
    const { checkId } = (
      await world.editor.post(`/v1/gates/${gateId}/checks`, { candidateModelVersion: fresh.v('logreg-v1') })
    ).body;
    const immediate = await world.editor.get(`/v1/gate-checks/${checkId}`);
    expect(immediate.body.status).toBe('pending');
    let started = Date.now();
    const capped = await world.editor.get(`/v1/gate-checks/${checkId}?wait=30`);
    const cappedMs = Date.now() - started;
    let decided = capped.body;
    while (decided.status === 'pending') {
      started = Date.now();
      decided = (await world.editor.get(`/v1/gate-checks/${checkId}?wait=30`)).body;
    }
    expect(cappedMs).toBeGreaterThanOrEqual(1900);
    expect(cappedMs).toBeLessThan(4000);
    expect(decided.status).toBe('pass');
    // The call that saw the decision returned within moments of it, not at the cap.
    const { rows } = await world.stack.pool.query('SELECT decided_at FROM gate_checks WHERE check_id = $1', [checkId]);
    expect(Date.now() - rows[0].decided_at.getTime()).toBeLessThan(1000);
  });

  it("are visible to the gate's and the model's teams only, and started by editors only", async () => {
    const check = await runCheck(world.editor, gateId, model.v('logreg-v1'));
    expect((await viewer.get(`/v1/gate-checks/${check.checkId}`)).status).toBe(200);
    expect((await stranger.get(`/v1/gate-checks/${check.checkId}`)).status).toBe(404);
    const byViewer = await viewer.post(`/v1/gates/${gateId}/checks`, { candidateModelVersion: model.v('logreg-v1') });
    expect(byViewer.status).toBe(403);
    const unknown = await world.editor.post(`/v1/gates/${gateId}/checks`, {
      candidateModelVersion: `${model.name}@nope`,
    });
    expect([unknown.status, unknown.body.error.field]).toEqual([404, 'candidateModelVersion']);
    expect(
      (
        await world.editor.post('/v1/gates/00000000-0000-4000-8000-000000000000/checks', {
          candidateModelVersion: model.v('logreg-v1'),
        })
      ).status,
    ).toBe(404);
  });
});

async function runCheckById(checkId: string) {
  for (;;) {
    const res = await world.editor.get(`/v1/gate-checks/${checkId}?wait=2`);
    if (res.body.status !== 'pending') return res.body;
  }
}
