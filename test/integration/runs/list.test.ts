/**
 * GET /v1/eval-runs: the runs a caller may see, newest first, filtered by model, model
 * version, dataset, suite, status and mode, a page at a time; a run on a restricted
 * dataset version is listed only for the teams that may see that version.
 */
import { startEvalWorld, type EvalWorld } from '../../../testkit/evalWorld';
import { releaseSuite, sliceRows, spamModel, uploadDataset } from '../../../testkit/gates';
import { client, principal, unique, type ApiClient } from '../../../testkit/stack';

let world: EvalWorld;
let model: Awaited<ReturnType<typeof spamModel>>;
let open: { datasetId: string };
let restricted: { datasetId: string };
let suite: { metricSuiteId: string };
let outsider: ApiClient;
const runs: Record<'nb' | 'logreg' | 'secret', string> = { nb: '', logreg: '', secret: '' };

const ids = (page: { items: { runId: string }[] }) => page.items.map((r) => r.runId);

beforeAll(async () => {
  world = await startEvalWorld();
  const rows = sliceRows({ 'easy-ham': 5, spam: 5 });
  open = await uploadDataset(world, rows);
  const secret = await world.editor.post('/v1/datasets', {
    name: unique('secret'),
    taskType: 'classification',
    ownerTeam: world.team,
  });
  const up = await world.editor.ndjson(
    `/v1/datasets/${secret.body.datasetId}/versions?labelPolicy=human_reviewed&visibility=restricted`,
    rows,
  );
  expect(up.status).toBe(201);
  restricted = { datasetId: secret.body.datasetId };
  suite = await releaseSuite(world);
  model = await spamModel(world);
  outsider = await principal(world.stack, 'outsider', [{ team: unique('elsewhere'), roles: ['viewer'] }]);
  const start = async (version: string, datasetId: string, mode = 'exploratory') => {
    const res = await world.editor.post('/v1/eval-runs', {
      modelVersion: model.v(version),
      datasetId,
      metricSuiteId: suite.metricSuiteId,
      mode,
    });
    expect(res.status).toBe(202);
    return res.body.runId as string;
  };
  runs.nb = await start('nb-v1', open.datasetId);
  runs.logreg = await start('logreg-v1', open.datasetId, 'release');
  runs.secret = await start('nb-v1', restricted.datasetId);
}, 180_000);
afterAll(() => world.close());

describe('GET /v1/eval-runs', () => {
  it('lists runs newest first, with what they evaluated', async () => {
    const res = await world.editor.get(`/v1/eval-runs?modelId=${model.modelId}`);
    expect(res.status).toBe(200);
    expect(ids(res.body)).toEqual([runs.secret, runs.logreg, runs.nb]);
    expect(res.body.items[1]).toMatchObject({
      runId: runs.logreg,
      status: expect.any(String),
      mode: 'release',
      modelVersion: model.v('logreg-v1'),
      datasetId: open.datasetId,
      datasetVersion: 1,
      metricSuiteId: suite.metricSuiteId,
      metricSuiteVersion: 1,
      progress: { done: expect.any(Number), total: expect.any(Number) },
      costUsd: expect.any(Number),
      createdAt: expect.any(String),
    });
    expect(Object.keys(res.body.items[1])).toEqual(expect.arrayContaining(['finishedAt', 'createdAt', 'costUsd']));
    expect(res.body.nextCursor).toBeNull();
  });

  it('filters by model version, dataset, suite, mode and status', async () => {
    const get = async (q: string) => ids((await world.editor.get(`/v1/eval-runs?${q}`)).body);
    expect(await get(`modelVersion=${model.v('logreg-v1')}`)).toEqual([runs.logreg]);
    expect(await get(`datasetId=${open.datasetId}`)).toEqual([runs.logreg, runs.nb]);
    expect(await get(`metricSuiteId=${suite.metricSuiteId}&mode=release`)).toEqual([runs.logreg]);
    for (const runId of Object.values(runs)) {
      for (let i = 0; i < 120; i++) {
        const run = await world.editor.get(`/v1/eval-runs/${runId}`);
        if (run.body.status === 'succeeded') break;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    expect(await get(`modelId=${model.modelId}&status=succeeded`)).toEqual([runs.secret, runs.logreg, runs.nb]);
    expect(await get(`modelId=${model.modelId}&status=failed`)).toEqual([]);
  });

  it('pages by an exact cursor', async () => {
    const first = await world.editor.get(`/v1/eval-runs?modelId=${model.modelId}&limit=2`);
    expect(ids(first.body)).toEqual([runs.secret, runs.logreg]);
    const second = await world.editor.get(
      `/v1/eval-runs?modelId=${model.modelId}&limit=2&cursor=${first.body.nextCursor}`,
    );
    expect([ids(second.body), second.body.nextCursor]).toEqual([[runs.nb], null]);
  });

  it('hides a run on a restricted dataset version from those who may not see the version', async () => {
    const res = await outsider.get(`/v1/eval-runs?modelId=${model.modelId}`);
    expect(ids(res.body)).toEqual([runs.logreg, runs.nb]);
  });

  it('refuses bad filters naming the field, and a caller without a key', async () => {
    const status = await world.editor.get('/v1/eval-runs?status=done');
    expect([status.status, status.body.error.field]).toEqual([400, 'status']);
    const version = await world.editor.get('/v1/eval-runs?modelVersion=no-version');
    expect([version.status, version.body.error.field]).toEqual([400, 'modelVersion']);
    expect((await client(world.stack.baseUrl).get('/v1/eval-runs')).status).toBe(401);
  });
});
