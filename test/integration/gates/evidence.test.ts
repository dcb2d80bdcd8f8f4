/**
 * Evidence that does not change with the dice (API.md, "Evidence"), through the API:
 * the same predictions give the same values, intervals and verdicts — a cached rerun, a new
 * candidate run over cached predictions, the same comparison twice; a regression exactly at
 * a max_regression threshold passes; gates tell their operating characteristics before a
 * check, and warn when an equal candidate would rarely pass.
 */
import { startEvalWorld, waitForRun, type EvalWorld } from '../../../testkit/evalWorld';
import {
  createGate,
  reasonFor,
  releaseSuite,
  runCheck,
  setAlias,
  sliceRows,
  spamModel,
  uploadDataset,
} from '../../../testkit/gates';
import { unique } from '../../../testkit/stack';

let world: EvalWorld;
let dataset: { datasetId: string };
let suite: { metricSuiteId: string };
let model: Awaited<ReturnType<typeof spamModel>>;

const startRun = async (modelVersion: string) => {
  const started = await world.editor.post('/v1/eval-runs', {
    modelVersion,
    datasetId: dataset.datasetId,
    metricSuiteId: suite.metricSuiteId,
    mode: 'release',
  });
  if (started.status !== 202) throw new Error(JSON.stringify(started.body));
  return waitForRun(world.editor, started.body.runId);
};
const comparison = async (runId: string, baseline: string) => {
  const res = await world.editor.get(`/v1/eval-runs/${runId}/comparison?baseline=${baseline}`);
  expect(res.status).toBe(200);
  return res.body;
};
/** What a verdict rests on: everything in a rule reason but the rows and runs it was read from. */
const evidenceOf = (check: any) => check.reasons.map(({ resultIds: _r, ...reason }: any) => reason);

beforeAll(async () => {
  world = await startEvalWorld({ EVALGATE_ROWS_PER_SHARD: '50' });
  dataset = await uploadDataset(world, sliceRows({ 'easy-ham': 40, 'hard-ham': 40, spam: 40 }));
  suite = await releaseSuite(world);
  model = await spamModel(world);
}, 180_000);
afterAll(() => world.close());

describe('the same predictions give the same evidence', () => {
  let first: any;
  let rerun: any;
  let baseline: any;
  beforeAll(async () => {
    baseline = await startRun(model.v('nb-v1'));
    first = await startRun(model.v('logreg-v1'));
    rerun = await startRun(model.v('logreg-v1')); // every prediction comes from the cache
  }, 180_000);

  it('a cached rerun gives bit-identical values and intervals, overall and per slice, under a new run id', () => {
    expect(rerun.runId).not.toBe(first.runId);
    expect(rerun.results).toEqual(first.results);
    expect(rerun.results.f1_spam.ciLow).not.toBeNull();
    expect(rerun.lineage.seeds.bootstrap).toBe(first.lineage.seeds.bootstrap);
    expect(rerun.lineage.seeds.bootstrap).not.toContain(first.runId);
  });

  it('a new candidate run compares to the baseline exactly as the first did', async () => {
    const a = await comparison(first.runId, baseline.runId);
    const b = await comparison(rerun.runId, baseline.runId);
    expect(b.metrics).toEqual(a.metrics);
    expect(b.seed ?? null).toEqual(a.seed ?? null);
  });

  it('the same comparison asked twice is identical', async () => {
    expect(await comparison(first.runId, 'alias:production')).toEqual(
      await comparison(first.runId, 'alias:production'),
    );
  });

  it('a check decided on the rerun gives the same values, intervals and verdicts', async () => {
    const gateId = await createGate(world.editor, {
      ownerTeam: world.team,
      metricSuiteId: suite.metricSuiteId,
      datasetIds: [dataset.datasetId],
      baselineAlias: 'production',
      rules: [
        { metric: 'accuracy', kind: 'non_inferiority', margin: 0.05 },
        { metric: 'f1_spam', kind: 'non_inferiority', margin: 0.05 },
        { metric: 'accuracy', kind: 'max_regression', threshold: 0.02 },
      ],
    });
    const before = await runCheck(world.editor, gateId, model.v('logreg-v1'), { idempotencyKey: unique('k') });
    await startRun(model.v('logreg-v1')); // the newest deciding run changes; its predictions do not
    const after = await runCheck(world.editor, gateId, model.v('logreg-v1'), { idempotencyKey: unique('k') });
    expect(after.checkId).not.toBe(before.checkId);
    expect(after.status).toBe(before.status);
    expect(evidenceOf(after)).toEqual(evidenceOf(before));
  });
});

describe('exact thresholds', () => {
  it('passes a regression exactly equal to the max_regression threshold, and fails one example more', async () => {
    const [nb, keywords] = await Promise.all([startRun(model.v('nb-v1')), startRun(model.v('keywords-v1'))]);
    // The threshold is the observed regression as a person writes it (k / n rounded to 9 digits),
    // not the floating-point difference of the two accuracies.
    const [better, worse] =
      nb.results.accuracy.value >= keywords.results.accuracy.value ? [nb, keywords] : [keywords, nb];
    const n = better.results.accuracy.n;
    const k = Math.round((better.results.accuracy.value - worse.results.accuracy.value) * n);
    expect(k).toBeGreaterThan(0);
    const tie = Math.round((k / n) * 1e9) / 1e9;
    const alias = better === nb ? 'nb-v1' : 'keywords-v1';
    await setAlias(world.editor, model.modelId, 'tie-base', model.v(alias));
    const gate = (threshold: number) =>
      createGate(world.editor, {
        ownerTeam: world.team,
        metricSuiteId: suite.metricSuiteId,
        datasetIds: [dataset.datasetId],
        baselineAlias: 'tie-base',
        rules: [{ metric: 'accuracy', kind: 'max_regression', threshold }],
      });
    const candidate = model.v(better === nb ? 'keywords-v1' : 'nb-v1');
    const atTie = await runCheck(world.editor, await gate(tie), candidate);
    expect(reasonFor(atTie, 'accuracy:max_regression')).toMatchObject({ verdict: 'pass' });
    expect(atTie.status).toBe('pass');
    const oneShort = await runCheck(world.editor, await gate(Math.round(((k - 1) / n) * 1e9) / 1e9), candidate);
    expect(reasonFor(oneShort, 'accuracy:max_regression')).toMatchObject({ verdict: 'fail' });
  });
});

describe('operating characteristics', () => {
  const definition = (rules: unknown[]) => ({
    name: unique('oc-gate'),
    ownerTeam: world.team,
    metricSuiteId: suite.metricSuiteId,
    datasetIds: [dataset.datasetId],
    baselineAlias: 'production',
    rules,
  });
  const ni = { metric: 'accuracy', kind: 'non_inferiority', margin: 0.02 };

  beforeAll(async () => {
    await startRun(model.v('nb-v1')); // the baseline's recorded outcomes on the current versions
  }, 180_000);

  it('previews a gate without storing it: P(pass), P(fail), P(inconclusive) per true delta, and examples for 80% power', async () => {
    const body = definition([ni, { metric: 'f1_spam', kind: 'min', threshold: 0.5 }]);
    const res = await world.editor.post('/v1/gates/preview', body);
    expect(res.status).toBe(200);
    const [rule, min] = res.body.rules;
    expect(rule).toMatchObject({
      rule: 'accuracy:non_inferiority',
      n: 120,
      discordanceSource: 'assumed_independent_errors',
    });
    expect(rule.points.map((p: any) => p.trueDelta)).toEqual([-0.04, -0.02, -0.01, 0, 0.02]);
    for (const p of rule.points) expect(p.pPass + p.pFail + p.pInconclusive).toBeCloseTo(1, 9);
    expect(rule.examplesFor80PercentPower).toBeGreaterThan(120);
    expect(min).toMatchObject({ points: null, reason: 'not_a_comparative_rule' });
    expect(res.body.baselines[0]).toMatchObject({ datasetId: dataset.datasetId, modelVersion: model.v('nb-v1') });
    // A stated discordance replaces the assumption.
    const stated = await world.editor.post('/v1/gates/preview?discordance=0.08', body);
    expect(stated.body.rules[0]).toMatchObject({ discordance: 0.08, discordanceSource: 'stated' });
    expect((await world.editor.get(`/v1/gates?name=${body.name}`)).body.items).toEqual([]);
  });

  it('warns at creation when an equal candidate would pass less than 80% of checks, and serves the same figures later', async () => {
    const res = await world.editor.post('/v1/gates', definition([ni]));
    expect(res.status).toBe(201);
    expect(res.body.warnings).toEqual([
      expect.objectContaining({ code: 'low_power', rule: 'accuracy:non_inferiority' }),
    ]);
    expect(res.body.warnings[0].pPassEqualCandidate).toBeLessThan(0.8);
    const oc = await world.editor.get(`/v1/gates/${res.body.gateId}/operating-characteristics`);
    expect(oc.status).toBe(200);
    const preview = await world.editor.post('/v1/gates/preview', definition([ni]));
    expect(oc.body.rules).toEqual(preview.body.rules);
    const roomy = await world.editor.post(
      '/v1/gates',
      definition([{ metric: 'accuracy', kind: 'non_inferiority', margin: 0.3 }]),
    );
    expect(roomy.body.warnings).toEqual([]);
  });
});
