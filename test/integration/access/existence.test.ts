/**
 * A restricted dataset version's existence stays hidden (404) everywhere outside the teams that
 * may see it: the runs and checks on it through lineage, the incidents that touch it (one by
 * one and in the list), the gates over it, and its models' endpoint definitions stay with their team.
 */
import { startEvalWorld, waitForRun, type EvalWorld } from '../../../testkit/evalWorld';
import { createGate, GATE_METRICS, releaseSuite, sliceRows, spamModel, waitForCheck } from '../../../testkit/gates';
import { principal, unique, type ApiClient } from '../../../testkit/stack';

let world: EvalWorld;
let outsider: ApiClient;
let viewerA: ApiClient;
let secret: string;
let runId: string;
let checkId: string;
let gateId: string;
let incidentId: string;
let model: Awaited<ReturnType<typeof spamModel>>;

beforeAll(async () => {
  world = await startEvalWorld();
  outsider = await principal(world.stack, 'outsider', [{ team: unique('elsewhere'), roles: ['editor'] }]);
  viewerA = await principal(world.stack, 'viewer-a', [{ team: world.team, roles: ['viewer'] }]);
  const dataset = await world.editor.post('/v1/datasets', {
    name: unique('secret'),
    taskType: 'classification',
    ownerTeam: world.team,
  });
  secret = dataset.body.datasetId;
  const up = await world.editor.ndjson(
    `/v1/datasets/${secret}/versions?labelPolicy=human_reviewed&visibility=restricted`,
    sliceRows({ 'easy-ham': 4, spam: 4 }),
  );
  expect(up.status).toBe(201);
  const suite = await releaseSuite(world, GATE_METRICS);
  model = await spamModel(world);
  const run = await world.editor.post('/v1/eval-runs', {
    modelVersion: model.v('nb-v1'),
    datasetId: secret,
    metricSuiteId: suite.metricSuiteId,
    mode: 'release',
  });
  runId = run.body.runId;
  await waitForRun(world.editor, runId);
  gateId = await createGate(world.editor, {
    ownerTeam: world.team,
    metricSuiteId: suite.metricSuiteId,
    datasetIds: [secret],
    baselineAlias: 'production',
    rules: [{ metric: 'accuracy', kind: 'min', threshold: 0.1 }],
  });
  const started = await world.editor.post(`/v1/gates/${gateId}/checks`, { candidateModelVersion: model.v('nb-v1') });
  checkId = started.body.checkId;
  await waitForCheck(world.editor, checkId);
  const deprecated = await world.editor.post(`/v1/datasets/${secret}/versions/1/deprecate`, {
    reason: 'labels leaked into the inputs',
  });
  expect(deprecated.status).toBe(202);
  incidentId = deprecated.body.incidentId;
}, 180_000);
afterAll(() => world.close());

describe('restricted existence is 404 everywhere else', () => {
  it('hides the lineage of a run and a check on the restricted version', async () => {
    for (const direction of ['upstream', 'downstream']) {
      expect((await outsider.get(`/v1/lineage/eval_run/${runId}?direction=${direction}`)).status).toBe(404);
      expect((await outsider.get(`/v1/lineage/gate_check/${checkId}?direction=${direction}`)).status).toBe(404);
      expect((await world.editor.get(`/v1/lineage/eval_run/${runId}?direction=${direction}`)).status).toBe(200);
    }
    expect((await world.editor.get(`/v1/lineage/gate_check/${checkId}?direction=upstream`)).status).toBe(200);
  });

  it('hides checks of a public model on a hidden gate from the model version lineage', async () => {
    const { modelVersionId } = (await world.editor.get(`/v1/eval-runs/${runId}`)).body.lineage.model;
    const own = await world.editor.get(`/v1/lineage/model_version/${modelVersionId}?direction=downstream`);
    const theirs = await outsider.get(`/v1/lineage/model_version/${modelVersionId}?direction=downstream`);
    const checks = (res: { body: { nodes: { kind: string; id: string }[] } }) =>
      res.body.nodes.filter((n) => n.kind === 'gate_check').map((n) => n.id);
    expect(own.status).toBe(200);
    expect(checks(own)).toContain(`gate_check:${checkId}`);
    expect(theirs.status).toBe(200);
    expect(checks(theirs)).toEqual([]);
  });

  it('hides the incident that touches the restricted version, one by one and in the list', async () => {
    expect((await outsider.get(`/v1/incidents/${incidentId}`)).status).toBe(404);
    const list = await outsider.get('/v1/incidents?limit=200');
    expect(list.body.items.map((i: { incidentId: string }) => i.incidentId)).not.toContain(incidentId);
    const own = await viewerA.get(`/v1/incidents/${incidentId}`);
    expect([own.status, own.body.note]).toEqual([200, 'labels leaked into the inputs']);
  });

  it('hides the gate over the restricted dataset and its operating characteristics', async () => {
    expect((await outsider.get(`/v1/gates/${gateId}`)).status).toBe(404);
    expect((await outsider.get(`/v1/gates/${gateId}/operating-characteristics`)).status).toBe(404);
    const listed = await outsider.get('/v1/gates?limit=200');
    expect(listed.body.items.map((g: { gateId: string }) => g.gateId)).not.toContain(gateId);
    expect((await viewerA.get(`/v1/gates/${gateId}`)).status).toBe(200);
  });

  it("shows a model's endpoint, prompt template, params and pricing only to its team", async () => {
    const own = await viewerA.get(`/v1/models/${model.modelId}`);
    const theirs = await outsider.get(`/v1/models/${model.modelId}`);
    expect(own.body.versions[0].endpoint.url).toEqual(expect.stringContaining('http'));
    expect(theirs.status).toBe(200);
    expect(theirs.body.versions[0].endpoint).toBeUndefined();
    expect(theirs.body.versions[0].pricing).toBeUndefined();
    expect(theirs.body.versions[0].modelVersion).toBe(own.body.versions[0].modelVersion);
  });
});
