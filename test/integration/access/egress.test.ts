/**
 * Rows go only to endpoints whose owning team may read them (BRIEF: the access model), however
 * a run starts: directly, through a gate of another team, or through a check of another team's
 * model on a gate. The shard activity checks the rule again before it sends a row, and a run is
 * cancelled only by editors of its owning teams or admins.
 */
import { WORKFLOW_TYPES } from '../../../common/names';
import { insertRunRecord, resolveRunTarget } from '../../../domain/runs/createRun';
import { registerSuite, startEvalWorld, type EvalWorld } from '../../../testkit/evalWorld';
import { createGate, GATE_METRICS, sliceRows, uploadDataset } from '../../../testkit/gates';
import { client, principal, unique, type ApiClient } from '../../../testkit/stack';

let world: EvalWorld;
let teamB: string;
let editorB: ApiClient;
let bridge: ApiClient;
let viewerA: ApiClient;
let secret: { datasetId: string };
let open: { datasetId: string };
let suiteA: { metricSuiteId: string };
let modelA: string;
let modelB: string;

const rows = sliceRows({ 'easy-ham': 4, spam: 4 });

async function registerModel(as: ApiClient, ownerTeam: string): Promise<string> {
  const model = await as.post('/v1/models', { name: unique('clf'), ownerTeam });
  const version = await as.post(`/v1/models/${model.body.modelId}/versions`, {
    version: 'v1',
    endpoint: { protocol: 'json-predict', url: world.server.predictUrl('nb-v1') },
  });
  expect(version.status).toBe(201);
  return version.body.modelVersion as string;
}

async function waitForRun(runId: string) {
  for (let i = 0; i < 240; i++) {
    const run = await world.editor.get(`/v1/eval-runs/${runId}`);
    if (!['queued', 'running'].includes(run.body.status)) return run.body;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`run ${runId} did not end`);
}

beforeAll(async () => {
  world = await startEvalWorld();
  teamB = unique('team-b');
  editorB = await principal(world.stack, 'editor-b', [{ team: teamB, roles: ['editor'] }]);
  bridge = await principal(world.stack, 'bridge', [
    { team: world.team, roles: ['editor'] },
    { team: teamB, roles: ['editor'] },
  ]);
  viewerA = await principal(world.stack, 'viewer-a', [{ team: world.team, roles: ['viewer'] }]);
  const dataset = await world.editor.post('/v1/datasets', {
    name: unique('secret'),
    taskType: 'classification',
    ownerTeam: world.team,
  });
  const up = await world.editor.ndjson(
    `/v1/datasets/${dataset.body.datasetId}/versions?labelPolicy=human_reviewed&visibility=restricted`,
    rows,
  );
  expect(up.status).toBe(201);
  secret = { datasetId: dataset.body.datasetId };
  open = await uploadDataset(world, rows);
  suiteA = await registerSuite(world, 'release_blocking', GATE_METRICS);
  modelA = await registerModel(world.editor, world.team);
  modelB = await registerModel(editorB, teamB);
}, 180_000);
afterAll(() => world.close());

describe('rows go only to endpoints whose team may read them', () => {
  it("refuses another team's gate over a restricted dataset it may not see (404, as if missing)", async () => {
    const suiteB = await editorB.post('/v1/metric-suites', {
      name: unique('suite-b'),
      purpose: 'release_blocking',
      ownerTeam: teamB,
    });
    await editorB.post(`/v1/metric-suites/${suiteB.body.metricSuiteId}/versions`, { metrics: GATE_METRICS });
    const res = await editorB.post('/v1/gates', {
      name: unique('gate-b'),
      ownerTeam: teamB,
      metricSuiteId: suiteB.body.metricSuiteId,
      datasetIds: [secret.datasetId],
      baselineAlias: 'production',
      rules: [{ metric: 'accuracy', kind: 'min', threshold: 0.1 }],
    });
    expect([res.status, res.body.error?.field]).toEqual([404, 'datasetIds[0]']);
  });

  it('refuses a gate of a team that may not read the rows, even from a principal who may (403)', async () => {
    const suiteB = await bridge.post('/v1/metric-suites', {
      name: unique('suite-b'),
      purpose: 'release_blocking',
      ownerTeam: teamB,
    });
    await bridge.post(`/v1/metric-suites/${suiteB.body.metricSuiteId}/versions`, { metrics: GATE_METRICS });
    const res = await bridge.post('/v1/gates', {
      name: unique('gate-b'),
      ownerTeam: teamB,
      metricSuiteId: suiteB.body.metricSuiteId,
      datasetIds: [secret.datasetId],
      baselineAlias: 'production',
      rules: [{ metric: 'accuracy', kind: 'min', threshold: 0.1 }],
    });
    expect([res.status, res.body.error?.field]).toEqual([403, 'datasetIds[0]']);
  });

  it("refuses a check of another team's model on a gate over restricted rows, and sends nothing", async () => {
    const gateId = await createGate(world.editor, {
      ownerTeam: world.team,
      metricSuiteId: suiteA.metricSuiteId,
      datasetIds: [secret.datasetId],
      baselineAlias: 'production',
      rules: [{ metric: 'accuracy', kind: 'min', threshold: 0.1 }],
    });
    const before = world.server.stats().requests.total;
    const hidden = await editorB.post(`/v1/gates/${gateId}/checks`, { candidateModelVersion: modelB });
    expect(hidden.status).toBe(404);
    const refused = await bridge.post(`/v1/gates/${gateId}/checks`, { candidateModelVersion: modelB });
    expect([refused.status, refused.body.error?.field]).toEqual([403, 'candidateModelVersion']);
    expect(world.server.stats().requests.total).toBe(before);
  });

  it("refuses a direct run of another team's model on restricted rows", async () => {
    const res = await bridge.post('/v1/eval-runs', {
      modelVersion: modelB,
      datasetId: secret.datasetId,
      metricSuiteId: suiteA.metricSuiteId,
    });
    expect([res.status, res.body.error?.field]).toEqual([403, 'modelVersion']);
    const own = await world.editor.post('/v1/eval-runs', {
      modelVersion: modelA,
      datasetId: secret.datasetId,
      metricSuiteId: suiteA.metricSuiteId,
    });
    expect(own.status).toBe(202);
    expect((await waitForRun(own.body.runId)).status).toBe('succeeded');
  });

  it('fails a run recorded around the API before a single row leaves (the shard activity checks again)', async () => {
    const { pool, config, temporal } = world.stack;
    const allowed = await resolveRunTarget(pool, {
      modelVersion: modelA,
      datasetId: secret.datasetId,
      metricSuiteId: suiteA.metricSuiteId,
      mode: 'exploratory',
    });
    const other = await resolveRunTarget(pool, {
      modelVersion: modelB,
      datasetId: open.datasetId,
      metricSuiteId: suiteA.metricSuiteId,
      mode: 'exploratory',
    });
    const forged = { ...allowed, model: other.model, modelVersion: other.modelVersion };
    const { run } = await insertRunRecord(pool, forged, { createdBy: world.editor.principalId, config });
    const before = world.server.stats().requests.total;
    await temporal.workflow.start(WORKFLOW_TYPES.evalRun, {
      workflowId: run.workflow_id,
      taskQueue: run.task_queue,
      args: [{ runId: run.run_id, shardParallelism: 2, blockSize: 8, heartbeatTimeoutMs: 5000 }],
    });
    const ended = await waitForRun(run.run_id);
    expect([ended.status, ended.error?.class]).toEqual(['failed', 'endpoint_not_authorized']);
    expect(world.server.stats().requests.total).toBe(before);
  });
});

describe('POST /v1/eval-runs/{runId}/cancel', () => {
  it("is refused to a viewer and to another team's editor (403), hidden from outsiders of a restricted run (404)", async () => {
    const started = await world.editor.post('/v1/eval-runs', {
      modelVersion: modelA,
      datasetId: open.datasetId,
      metricSuiteId: suiteA.metricSuiteId,
    });
    const hiddenRun = await world.editor.post('/v1/eval-runs', {
      modelVersion: modelA,
      datasetId: secret.datasetId,
      metricSuiteId: suiteA.metricSuiteId,
    });
    const viewer = await viewerA.post(`/v1/eval-runs/${started.body.runId}/cancel`, {});
    expect([viewer.status, viewer.body.error?.code]).toEqual([403, 'forbidden']);
    const stranger = await editorB.post(`/v1/eval-runs/${started.body.runId}/cancel`, {});
    expect(stranger.status).toBe(403);
    const outsider = await editorB.post(`/v1/eval-runs/${hiddenRun.body.runId}/cancel`, {});
    expect([outsider.status, outsider.body.error?.code]).toEqual([404, 'not_found']);
    const admin = client(world.stack.baseUrl, world.stack.adminToken);
    const byAdmin = await admin.post(`/v1/eval-runs/${hiddenRun.body.runId}/cancel`, {});
    expect([202, 409]).toContain(byAdmin.status);
    await waitForRun(started.body.runId);
  });
});
