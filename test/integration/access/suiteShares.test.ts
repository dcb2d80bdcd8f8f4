/**
 * A gate pins its suite version, and a suite owned by another team backs a gate only through
 * that team's share (BRIEF: the access model): the suite's owners cannot change another team's
 * gate decisions by publishing a new suite version.
 */
import { registerSuite, startEvalWorld, type EvalWorld } from '../../../testkit/evalWorld';
import { GATE_METRICS, sliceRows, uploadDataset, waitForCheck } from '../../../testkit/gates';
import { principal, unique, type ApiClient } from '../../../testkit/stack';

let world: EvalWorld;
let teamB: string;
let editorB: ApiClient;
let suiteA: { metricSuiteId: string };
let dataset: { datasetId: string };
let modelB: string;

const gateOfB = (extra: Record<string, unknown> = {}) => ({
  name: unique('gate-b'),
  ownerTeam: teamB,
  metricSuiteId: suiteA.metricSuiteId,
  datasetIds: [dataset.datasetId],
  baselineAlias: 'production',
  rules: [{ metric: 'accuracy', kind: 'min', threshold: 0.1 }],
  ...extra,
});

beforeAll(async () => {
  world = await startEvalWorld();
  teamB = unique('team-b');
  editorB = await principal(world.stack, 'editor-b', [{ team: teamB, roles: ['editor'] }]);
  dataset = await uploadDataset(world, sliceRows({ 'easy-ham': 4, spam: 4 }));
  suiteA = await registerSuite(world, 'release_blocking', GATE_METRICS);
  const model = await editorB.post('/v1/models', { name: unique('clf-b'), ownerTeam: teamB });
  const version = await editorB.post(`/v1/models/${model.body.modelId}/versions`, {
    version: 'v1',
    endpoint: { protocol: 'json-predict', url: world.server.predictUrl('nb-v1') },
  });
  modelB = version.body.modelVersion;
}, 180_000);
afterAll(() => world.close());

describe("a gate on another team's suite", () => {
  it('is refused without a share, and only the suite team shares', async () => {
    const refused = await editorB.post('/v1/gates', gateOfB());
    expect([refused.status, refused.body.error?.field]).toEqual([403, 'metricSuiteId']);
    const selfShare = await editorB.put(`/v1/metric-suites/${suiteA.metricSuiteId}/shares/${teamB}`, {});
    expect(selfShare.status).toBe(403);
  });

  it('is allowed through a share, pinned to the version it was created with', async () => {
    const shared = await world.editor.put(`/v1/metric-suites/${suiteA.metricSuiteId}/shares/${teamB}`, {});
    expect(shared.status).toBe(201);
    expect((await world.editor.put(`/v1/metric-suites/${suiteA.metricSuiteId}/shares/${teamB}`, {})).status).toBe(200);
    expect((await world.editor.get(`/v1/metric-suites/${suiteA.metricSuiteId}`)).body.sharedWith).toEqual([teamB]);
    const created = await editorB.post('/v1/gates', gateOfB());
    expect(created.status).toBe(201);
    const gate = await editorB.get(`/v1/gates/${created.body.gateId}`);
    expect(gate.body.latest.metricSuiteVersion).toBe(1);

    // The suite's team publishes v2, renaming the metric the gate's rule uses: the gate keeps v1.
    const v2 = await world.editor.post(`/v1/metric-suites/${suiteA.metricSuiteId}/versions`, {
      metrics: [{ name: 'acc', metric: 'accuracy' }],
    });
    expect([v2.status, v2.body.version]).toEqual([201, 2]);
    const started = await editorB.post(`/v1/gates/${created.body.gateId}/checks`, { candidateModelVersion: modelB });
    expect(started.status).toBe(202);
    const check = await waitForCheck(editorB, started.body.checkId);
    expect([check.status, check.runs.suiteVersion]).toEqual(['pass', 1]);
  });

  it('is refused again once the share is withdrawn', async () => {
    const withdrawn = await world.editor.delete(`/v1/metric-suites/${suiteA.metricSuiteId}/shares/${teamB}`);
    expect(withdrawn.status).toBe(204);
    const refused = await editorB.post('/v1/gates', gateOfB({ metricSuiteVersion: 2 }));
    expect([refused.status, refused.body.error?.field]).toEqual([403, 'metricSuiteId']);
  });
});
