import { randomUUID } from 'node:crypto';
import { runs as runsOf } from '../../../domain/lineage/dal';
import {
  registerSpamDataset,
  registerSpamModel,
  registerSuite,
  startEvalWorld,
  waitForRun,
  type EvalWorld,
} from '../../../testkit/evalWorld';
import { recordDecidedCheck } from '../../helpers/incidents';
import { principal, unique } from '../../../testkit/stack';

let world: EvalWorld;
let dataset: { datasetId: string; version: number };
let model: { modelId: string; versions: string[] };
let suite: { metricSuiteId: string };
let run: any;

beforeAll(async () => {
  world = await startEvalWorld({ EVALGATE_ROWS_PER_SHARD: '50' });
  dataset = await registerSpamDataset(world, { limit: 100 });
  model = await registerSpamModel(world, ['nb-v1']);
  suite = await registerSuite(world, 'release_blocking', [
    { name: 'accuracy', metric: 'accuracy' },
    { name: 'recall_spam', metric: 'recall', params: { positiveLabel: 'spam' }, implVersion: '0.9.0' },
  ]);
  const started = await world.editor.post('/v1/eval-runs', {
    modelVersion: model.versions[0],
    datasetId: dataset.datasetId,
    metricSuiteId: suite.metricSuiteId,
    mode: 'release',
  });
  run = await waitForRun(world.editor, started.body.runId);
}, 180_000);
afterAll(() => world.close());

const lineage = (kind: string, id: string, direction = 'downstream') =>
  world.editor.get(`/v1/lineage/${kind}/${encodeURIComponent(id)}?direction=${direction}`);
const kinds = (body: any) =>
  body.nodes.reduce((acc: Record<string, number>, n: any) => ({ ...acc, [n.kind]: (acc[n.kind] ?? 0) + 1 }), {});
const hasEdge = (body: any, from: string, to: string, relation: string) =>
  body.edges.some((e: any) => e.from === from && e.to === to && e.relation === relation);

describe('the lineage graph', () => {
  let gate: Awaited<ReturnType<typeof recordDecidedCheck>>;
  beforeAll(async () => {
    gate = await recordDecidedCheck(world, {
      metricSuiteId: suite.metricSuiteId,
      datasets: [{ datasetId: dataset.datasetId, candidateRunId: run.runId }],
      modelId: model.modelId,
      rules: [{ metric: 'accuracy', kind: 'min', threshold: 0.5 }],
      moveAlias: 'production',
    });
  });

  it('walks downstream of a dataset version to its runs, results, the decisions that used them and the alias moves', async () => {
    const res = await lineage('dataset_version', `${dataset.datasetId}@${dataset.version}`);
    expect(res.status).toBe(200);
    const root = res.body.root;
    expect(root).toMatch(/^dataset_version:/);
    expect(kinds(res.body)).toMatchObject({
      dataset_version: 1,
      eval_run: 1,
      metric_result: 2,
      gate_decision: 1,
      gate_check: 1,
      alias_move: 1,
    });
    const runNode = `eval_run:${run.runId}`;
    expect(hasEdge(res.body, root, runNode, 'evaluated_on')).toBe(true);
    for (const id of gate.resultIds) {
      expect(hasEdge(res.body, runNode, `metric_result:${id}`, 'produced')).toBe(true);
      expect(hasEdge(res.body, `metric_result:${id}`, `gate_decision:${gate.decisionId}`, 'used_by')).toBe(true);
    }
    expect(hasEdge(res.body, `gate_decision:${gate.decisionId}`, `gate_check:${gate.checkId}`, 'decided')).toBe(true);
    expect(hasEdge(res.body, `gate_check:${gate.checkId}`, `alias_move:${gate.moveId}`, 'allowed')).toBe(true);
    expect(res.body.truncated).toBe(false);
  });

  it('walks downstream of a metric implementation only through that metric', async () => {
    const res = await lineage('metric_impl', 'recall@0.9.0');
    expect(res.status).toBe(200);
    const results = res.body.nodes.filter((n: any) => n.kind === 'metric_result');
    expect(results.length).toBeGreaterThan(0);
    expect(results.every((n: any) => n.attrs.metric === 'recall')).toBe(true);
    // Whether or not an incident in another test has recomputed it since, the run's 0.9.0 result is there.
    expect(results.some((n: any) => n.attrs.implVersion === '0.9.0' && n.label.startsWith('recall_spam'))).toBe(true);
    expect(res.body.nodes.some((n: any) => n.id === `eval_run:${run.runId}`)).toBe(true);
  });

  it('walks upstream of a run to everything it was made from', async () => {
    const res = await lineage('eval_run', run.runId, 'upstream');
    expect(res.status).toBe(200);
    const runNode = `eval_run:${run.runId}`;
    const into = res.body.edges
      .filter((e: any) => e.to === runNode)
      .map((e: any) => `${e.from.split(':')[0]} ${e.relation}`)
      .sort();
    expect(into).toEqual([
      'dataset_version evaluated_on',
      'metric_impl computed_with',
      'metric_impl computed_with',
      'metric_suite_version scored_by',
      'model_version evaluated',
    ]);
    expect(res.body.nodes.find((n: any) => n.kind === 'dataset_version').attrs).toMatchObject({
      datasetId: dataset.datasetId,
      version: dataset.version,
    });
  });

  it('walks upstream of a gate check through its decision and results to the runs and their inputs', async () => {
    const res = await lineage('gate_check', gate.checkId, 'upstream');
    expect(res.status).toBe(200);
    expect(kinds(res.body)).toMatchObject({
      gate: 1,
      gate_decision: 1,
      metric_result: 1,
      eval_run: 1,
      dataset_version: 1,
      model_version: 1,
    });
    expect(hasEdge(res.body, `gate_decision:${gate.decisionId}`, `gate_check:${gate.checkId}`, 'decided')).toBe(true);
  });

  it('answers 404 for an unknown record and 400 for an unknown kind or direction', async () => {
    expect((await lineage('eval_run', randomUUID())).status).toBe(404);
    expect((await lineage('metric_impl', 'recall')).status).toBe(404);
    const badKind = await lineage('dataset', randomUUID());
    expect(badKind.status).toBe(400);
    expect(badKind.body.error.field).toBe('kind');
    const badDirection = await lineage('eval_run', run.runId, 'sideways');
    expect(badDirection.body.error).toMatchObject({ code: 'invalid_request', field: 'direction' });
  });

  it('hides runs on a restricted dataset version from principals outside its teams', async () => {
    const restricted = await registerSpamDataset(world, { limit: 20, query: '&visibility=restricted' });
    const started = await world.editor.post('/v1/eval-runs', {
      modelVersion: model.versions[0],
      datasetId: restricted.datasetId,
      metricSuiteId: suite.metricSuiteId,
    });
    await waitForRun(world.editor, started.body.runId);
    const outsider = await principal(world.stack, 'outsider', [{ team: unique('other'), roles: ['viewer'] }]);
    const forOutsider = await outsider.get(
      `/v1/lineage/model_version/${encodeURIComponent(model.versions[0])}?direction=downstream`,
    );
    expect(forOutsider.status).toBe(200);
    expect(forOutsider.body.nodes.some((n: any) => n.id === `eval_run:${started.body.runId}`)).toBe(false);
    expect(forOutsider.body.nodes.some((n: any) => n.id === `eval_run:${run.runId}`)).toBe(true);
    expect((await outsider.get(`/v1/lineage/dataset_version/${restricted.datasetId}@1`)).status).toBe(404);
    const forTeam = await lineage('model_version', model.versions[0]);
    expect(forTeam.body.nodes.some((n: any) => n.id === `eval_run:${started.body.runId}`)).toBe(true);
  });
});

describe('lineage at scale', () => {
  const tag = randomUUID().slice(0, 8);
  /** Used by 1% of the seeded runs (a typical bad version) and by 10% (a widely used one). */
  const rare = `0.0.0-rare-${tag}`;
  const common = `0.0.0-common-${tag}`;

  beforeAll(async () => {
    // 10,000 runs in one statement, using recall at this test's own implementation versions.
    const ids = await world.stack.pool.query(
      `SELECT r.model_version_id, r.dataset_version_id, r.metric_suite_version_id FROM eval_runs r WHERE r.run_id = $1`,
      [run.runId],
    );
    const { model_version_id: mv, dataset_version_id: dv, metric_suite_version_id: sv } = ids.rows[0];
    await world.stack.pool.query(
      `INSERT INTO eval_runs (model_version_id, dataset_version_id, metric_suite_version_id, mode, status, seed, metric_impl_versions,
                              platform_version, workflow_id, task_queue, created_by)
       SELECT $1, $2, $3, 'exploratory', 'succeeded', 'seed-' || i,
              jsonb_build_object('accuracy', $7::text, 'recall', CASE WHEN i % 100 = 0 THEN $4 WHEN i % 10 = 0 THEN $6 ELSE $7 END),
              'test', 'lineage-seed:' || gen_random_uuid(), 'none', $5
         FROM generate_series(1, 10000) AS i`,
      [mv, dv, sv, rare, world.editor.principalId, common, `0.0.0-other-${tag}`],
    );
    await world.stack.pool.query('ANALYZE eval_runs');
  }, 120_000);

  it('answers "every run that used recall at version N" from the GIN index', async () => {
    const { rows } = await world.stack.pool.query(
      `EXPLAIN SELECT run_id FROM eval_runs WHERE metric_impl_versions @> $1::jsonb`,
      [JSON.stringify({ recall: rare })],
    );
    expect(rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/Bitmap Index Scan on eval_runs_impl_versions/);
  });

  async function medianMs(id: string, runs: number) {
    await lineage('metric_impl', id); // warm the connection and the plan cache
    const timings: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = process.hrtime.bigint();
      const res = await lineage('metric_impl', id);
      timings.push(Number(process.hrtime.bigint() - started) / 1e6);
      expect(res.status).toBe(200);
      expect(res.body.nodes.filter((n: any) => n.kind === 'eval_run')).toHaveLength(runs);
    }
    return timings.sort((a, b) => a - b)[2];
  }

  it('answers the downstream graph of a version 100 of 10,000 runs used in under 100 ms (median of five, over HTTP)', async () => {
    expect(await medianMs(`recall@${rare}`, 100)).toBeLessThan(100);
  });

  it('finds the 900 runs of a version a tenth of the runs used, with the database doing it in well under 100 ms', async () => {
    // Timed inside PostgreSQL (EXPLAIN ANALYZE): on this shared 2-core machine wall-clock
    // timings of a 900-row answer mostly measure whoever else is running tests.
    const found = await runsOf(world.stack.pool, { by: 'metric_impl', metric: 'recall', version: common }, 5000);
    expect(found).toHaveLength(900);
    const { rows } = await world.stack.pool.query(
      `EXPLAIN (ANALYZE, FORMAT JSON) SELECT run_id FROM eval_runs WHERE metric_impl_versions @> $1::jsonb`,
      [JSON.stringify({ recall: common })],
    );
    const plan = rows[0]['QUERY PLAN'][0];
    expect(plan['Plan']['Actual Rows']).toBe(900);
    expect(plan['Execution Time']).toBeLessThan(100);
  });
});
