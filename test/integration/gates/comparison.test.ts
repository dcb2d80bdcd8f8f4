/**
 * GET /v1/eval-runs/{runId}/comparison: candidate vs baseline per metric and slice with a
 * paired interval (Tango's score interval for accuracy, a paired bootstrap otherwise) and
 * p-value (McNemar's exact test for accuracy), reproducible;
 * the examples that regressed and improved, paginated and access-controlled; refusal of
 * runs that cannot be compared; baselines resolved through model aliases.
 */
import { comparisonSeedFor, loadComparableRun } from '../../../domain/comparison';
import { compareRuns } from '../../../domain/comparison/compareRuns';
import { datasetShardIndexes } from '../../../domain/comparison/dal';
import { mcnemarExact } from '../../../domain/metrics/compare';
import { startEvalWorld, waitForRun, type EvalWorld } from '../../../testkit/evalWorld';
import { client, principal, unique, type ApiClient } from '../../../testkit/stack';
import { releaseSuite, sliceRows, spamModel, uploadDataset } from '../../../testkit/gates';

let world: EvalWorld;
let admin: ApiClient;
let dataset: { datasetId: string };
let suite: { metricSuiteId: string };
let model: Awaited<ReturnType<typeof spamModel>>;
let candidate: any;
let baseline: any;

const run = async (as: ApiClient, modelVersion: string, extra: Record<string, unknown> = {}) => {
  const started = await as.post('/v1/eval-runs', {
    modelVersion,
    datasetId: dataset.datasetId,
    metricSuiteId: suite.metricSuiteId,
    mode: 'release',
    ...extra,
  });
  if (started.status !== 202) throw new Error(JSON.stringify(started.body));
  return waitForRun(as, started.body.runId);
};
const compare = (runId: string, baselineRef: string, as: ApiClient = world.editor) =>
  as.get(`/v1/eval-runs/${runId}/comparison?baseline=${baselineRef}`);

beforeAll(async () => {
  world = await startEvalWorld({ EVALGATE_ROWS_PER_SHARD: '50' });
  admin = client(world.stack.baseUrl, world.stack.adminToken);
  dataset = await uploadDataset(world, sliceRows({ 'easy-ham': 60, 'hard-ham': 69, spam: 60 }));
  suite = await releaseSuite(world);
  model = await spamModel(world);
  [candidate, baseline] = await Promise.all([
    run(world.editor, model.v('logreg-v1')),
    run(world.editor, model.v('nb-v1')),
  ]);
}, 180_000);
afterAll(() => world.close());

describe('a run comparison', () => {
  let body: any;
  beforeAll(async () => {
    const res = await compare(candidate.runId, 'alias:production');
    expect(res.status).toBe(200);
    body = res.body;
  });

  it("resolves alias:production to the aliased version's latest release run on the same dataset and suite versions", () => {
    expect(body.baseline).toMatchObject({
      runId: baseline.runId,
      modelVersion: model.v('nb-v1'),
      via: 'alias:production',
    });
    expect(body.comparable).toBe(true);
    expect(body.examples).toEqual({ paired: 189, candidateOnly: 0, baselineOnly: 0, errored: 0 });
  });

  it('gives candidate, baseline, delta with a paired interval and a p-value, overall and per slice', () => {
    const accuracy = body.metrics.accuracy;
    expect(accuracy.candidate).toBe(candidate.results.accuracy.value);
    expect(accuracy.baseline).toBe(baseline.results.accuracy.value);
    expect(accuracy.delta).toBeCloseTo(accuracy.candidate - accuracy.baseline, 12);
    expect(accuracy.relativeDelta).toBeCloseTo(accuracy.delta / accuracy.baseline, 12);
    expect(accuracy.deltaCiLow).toBeLessThanOrEqual(accuracy.delta);
    expect(accuracy.deltaCiHigh).toBeGreaterThanOrEqual(accuracy.delta);
    expect(accuracy.n).toBe(189);
    // Accuracy is a binary outcome per example: McNemar's exact test on the discordant pairs.
    expect(accuracy.pValueMethod).toBe('mcnemar_exact');
    expect(accuracy.pValue).toBe(mcnemarExact(accuracy.regressed, accuracy.improved));
    expect(accuracy.delta).toBeCloseTo((accuracy.improved - accuracy.regressed) / 189, 12);
    expect(body.metrics.f1_spam.pValueMethod).toBe('paired_bootstrap');
    expect(body.metrics.f1_spam.pValue).toBeGreaterThan(0);
    const hardHam = accuracy.slices['hard-ham'];
    expect(hardHam.candidate).toBe(candidate.results.accuracy.slices['hard-ham'].value);
    expect(hardHam.n).toBe(69);
    expect(hardHam.delta).toBeCloseTo((hardHam.improved - hardHam.regressed) / 69, 12);
  });

  it('is reproducible: recomputing from the stored records gives the same numbers bit for bit', async () => {
    const again = await compare(candidate.runId, baseline.runId);
    expect(again.body.metrics).toEqual(body.metrics);
    const seed = comparisonSeedFor(
      (await loadComparableRun(world.stack.pool, candidate.runId))!,
      (await loadComparableRun(world.stack.pool, baseline.runId))!,
    );
    const recomputed = await compareRuns(
      { storage: world.stack.storage },
      {
        seed,
        candidateRunId: candidate.runId,
        baselineRunId: baseline.runId,
        shards: await datasetShardIndexes(world.stack.pool, candidate.lineage.dataset.datasetVersionId),
        metrics: (
          await world.stack.pool.query('SELECT metrics FROM metric_suite_versions WHERE metric_suite_version_id = $1', [
            candidate.lineage.metricSuite.metricSuiteVersionId,
          ])
        ).rows[0].metrics,
      },
    );
    const stored = Object.fromEntries(
      Object.entries(body.metrics as Record<string, any>).map(([name, { direction: _d, ...m }]) => [name, m]),
    );
    expect(JSON.parse(JSON.stringify(recomputed.metrics))).toEqual(stored);
    // Seeded from both runs' content, not their ids.
    expect(recomputed.seed).toMatch(/^compare:[0-9a-f]{64}:[0-9a-f]{64}$/);
  });

  it('lists the examples that improved and regressed, paginated', async () => {
    const pages: any[] = [];
    let cursor: string | null = null;
    do {
      const res: any = await world.editor.get(
        `/v1/eval-runs/${candidate.runId}/comparison/examples?baseline=alias:production&change=improved&limit=2` +
          (cursor ? `&cursor=${cursor}` : ''),
      );
      expect(res.status).toBe(200);
      pages.push(...res.body.items);
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(pages).toHaveLength(body.metrics.accuracy.improved);
    expect(new Set(pages.map((e) => e.id)).size).toBe(pages.length);
    for (const e of pages)
      expect([e.candidate.correct, e.baseline.correct, e.candidate.label]).toEqual([true, false, e.truth.label]);
    const regressed = await world.editor.get(
      `/v1/eval-runs/${candidate.runId}/comparison/examples?baseline=${baseline.runId}&change=regressed&slice=hard-ham&limit=500`,
    );
    expect(regressed.body.items).toHaveLength(body.metrics.accuracy.slices['hard-ham'].regressed);
    expect(
      regressed.body.items.every((e: any) => e.tags.includes('hard-ham') && !e.candidate.correct && e.baseline.correct),
    ).toBe(true);
    // The other filters: unchanged examples are the rest of the paired ones; each row carries the model's input.
    const listAll = async (change: string) => {
      const all: any[] = [];
      let next: string | null = null;
      do {
        const res: any = await world.editor.get(
          `/v1/eval-runs/${candidate.runId}/comparison/examples?baseline=${baseline.runId}&change=${change}&limit=500` +
            (next ? `&cursor=${next}` : ''),
        );
        expect(res.status).toBe(200);
        all.push(...res.body.items);
        next = res.body.nextCursor;
      } while (next);
      return all;
    };
    const unchanged = await listAll('unchanged');
    const { n, regressed: r, improved: i } = body.metrics.accuracy;
    expect(unchanged).toHaveLength(n - r - i);
    expect(unchanged.every((e) => e.change === 'unchanged' && e.candidate.correct === e.baseline.correct)).toBe(true);
    expect(unchanged[0].input).toEqual(expect.objectContaining({ input: expect.any(String) }));
    expect(await listAll('candidate_only')).toHaveLength(body.examples.candidateOnly);
    expect(body.metrics.accuracy.direction).toBe('higher_is_better');
    const badCursor = await world.editor.get(
      `/v1/eval-runs/${candidate.runId}/comparison/examples?baseline=${baseline.runId}&cursor=nonsense`,
    );
    expect([badCursor.status, badCursor.body.error.field]).toEqual([400, 'cursor']);
  });

  it('warns about what weakens the evidence, such as an exploratory baseline', async () => {
    const exploratory = await run(world.editor, model.v('keywords-v1'), { mode: 'exploratory' });
    const res = await compare(candidate.runId, exploratory.runId);
    expect(res.status).toBe(200);
    expect(res.body.warnings).toEqual(expect.arrayContaining([expect.stringMatching(/baseline run is exploratory/)]));
  });
});

describe('runs that cannot be compared', () => {
  it('are refused with 409 not_comparable naming what differs', async () => {
    const other = await uploadDataset(world, sliceRows({ 'easy-ham': 5, spam: 5 }), { datasetId: dataset.datasetId });
    expect(other.version).toBe(2);
    const onV2 = await run(world.editor, model.v('nb-v1'), { datasetVersion: 2 });
    const res = await compare(candidate.runId, onV2.runId);
    expect([res.status, res.body.error.code, res.body.error.field]).toEqual([409, 'not_comparable', 'baseline']);
    expect(res.body.error.message).toMatch(/dataset version differs: .* v1, the baseline on v2/);
    const suiteV2 = await world.editor.post(`/v1/metric-suites/${suite.metricSuiteId}/versions`, {
      metrics: [{ name: 'accuracy', metric: 'accuracy' }],
    });
    expect(suiteV2.status).toBe(201);
    const onSuiteV2 = await run(world.editor, model.v('nb-v1'), { datasetVersion: 1, metricSuiteVersion: 2 });
    const bySuite = await compare(candidate.runId, onSuiteV2.runId);
    expect(bySuite.body.error.message).toMatch(/metric suite version differs/);
  });

  it('answer 409 no_baseline when the alias has no release run to compare with, or does not exist', async () => {
    const noRuns = await spamModel(world);
    const fresh = await run(world.editor, noRuns.v('logreg-v1'), { datasetVersion: 1, metricSuiteVersion: 1 });
    const res = await compare(fresh.runId, 'alias:production');
    expect([res.status, res.body.error.code]).toEqual([409, 'no_baseline']);
    expect(res.body.error.message).toMatch(/no valid release-mode run/);
    expect((await compare(fresh.runId, 'alias:canary')).body.error.code).toBe('no_baseline');
    expect((await compare(fresh.runId, 'production')).status).toBe(400);
  });
});

describe("access to a restricted dataset's comparison", () => {
  it('shows aggregates to the owning team but examples only to the allowed teams', async () => {
    const allowedTeam = unique('trusted');
    const created = await world.editor.post('/v1/datasets', {
      name: unique('restricted'),
      taskType: 'classification',
      ownerTeam: world.team,
    });
    const rows = sliceRows({ 'hard-ham': 20, spam: 10 });
    const up = await admin.ndjson(
      `/v1/datasets/${created.body.datasetId}/versions?labelPolicy=human_reviewed&visibility=restricted` +
        `&teams=${allowedTeam}&classification=restricted`,
      rows,
    );
    expect(up.status).toBe(201);
    // Rows go only to endpoints whose team may read them: the evaluated model belongs to the allowed team.
    const trustedModel = unique('trusted-clf');
    const registered = await admin.post('/v1/models', { name: trustedModel, ownerTeam: allowedTeam });
    for (const v of ['logreg-v1', 'nb-v1'])
      await admin.post(`/v1/models/${registered.body.modelId}/versions`, {
        version: v,
        endpoint: { protocol: 'json-predict', url: world.server.predictUrl(v) },
      });
    const runOn = async (v: string) =>
      waitForRun(
        admin,
        (
          await admin.post('/v1/eval-runs', {
            modelVersion: `${trustedModel}@${v}`,
            datasetId: created.body.datasetId,
            metricSuiteId: suite.metricSuiteId,
            metricSuiteVersion: 1,
            mode: 'release',
          })
        ).body.runId,
      );
    const [c, b] = await Promise.all([runOn('logreg-v1'), runOn('nb-v1')]);
    const trusted = await principal(world.stack, 'trusted', [{ team: allowedTeam, roles: ['viewer'] }]);
    const outsider = await principal(world.stack, 'outsider', [{ team: unique('nobody'), roles: ['viewer'] }]);
    const examples = (as: ApiClient) =>
      as.get(`/v1/eval-runs/${c.runId}/comparison/examples?baseline=${b.runId}&change=improved`);

    expect((await compare(c.runId, b.runId, world.editor)).status).toBe(200); // owning team: metadata and aggregates
    expect((await examples(world.editor)).status).toBe(403);
    expect((await examples(trusted)).status).toBe(200);
    expect((await compare(c.runId, b.runId, outsider)).status).toBe(404);
    expect((await examples(outsider)).status).toBe(404);
  });
});
