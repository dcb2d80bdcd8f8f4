import { datasetJsonl } from '../../../testkit/corpus/writeDatasets';
import { startEvalWorld, waitForRun, type EvalWorld } from '../../../testkit/evalWorld';
import { client, principal, unique } from '../../../testkit/stack';
import {
  JUDGE_PRICING,
  MODEL_PRICING,
  judgeDef,
  readRecords,
  readTranscripts,
  registerGenerationDataset,
  registerGenerator,
  registerJudgeModel,
  registerJudgedSuite,
  serverSideCost,
} from './judgeWorld';

let world: EvalWorld;
let dataset: { datasetId: string; rowCount: number };
let judgeModel: string;

beforeAll(async () => {
  world = await startEvalWorld({ EVALGATE_ROWS_PER_SHARD: '50', EVALGATE_PART_ROWS: '20' });
  dataset = await registerGenerationDataset(world, { limit: 120 });
  judgeModel = await registerJudgeModel(world);
}, 120_000);
afterAll(() => world.close());
beforeEach(() => {
  world.server.resetKnobs();
  world.server.resetStats();
});

const admin = () => client(world.stack.baseUrl, world.stack.adminToken);
const startRun = (modelVersion: string, metricSuiteId: string, datasetId = dataset.datasetId) =>
  world.editor.post('/v1/eval-runs', { modelVersion, datasetId, metricSuiteId });

describe('a judged generation run', () => {
  let generator: string;
  let suiteId: string;
  let first: any;

  beforeAll(async () => {
    [generator] = await registerGenerator(world, ['lead-v1']);
    suiteId = await registerJudgedSuite(world, judgeDef(judgeModel, { repeats: 2 }));
  });

  it('judges every output, and its model and judge costs add up exactly to the server-side counts', async () => {
    world.server.setKnobs({ judgeNoise: 0.3 });
    const started = await startRun(generator, suiteId);
    expect(started.status).toBe(202);
    first = await waitForRun(world.editor, started.body.runId);
    expect(first.status).toBe('succeeded');

    const stats = world.server.stats();
    expect(stats.requests.byModel['lead-v1']).toBe(120);
    expect(stats.requests.byModel['judge-v1']).toBe(240); // two repeats per example
    expect(first.cost).toMatchObject({ modelCalls: 120, judgeCalls: 240, calls: 360 });
    expect(first.cost.modelUsd).toBeCloseTo(serverSideCost(world, 'lead-v1', MODEL_PRICING), 9);
    expect(first.cost.judgeUsd).toBeCloseTo(serverSideCost(world, 'judge-v1', JUDGE_PRICING), 9);
    expect(first.cost.totalUsd).toBeCloseTo(first.cost.modelUsd + first.cost.judgeUsd, 12);

    expect(first.results.judge.n).toBe(120);
    expect(first.results.judge.value).toBeGreaterThan(0);
    expect(first.results.judge.value).toBeLessThan(1);
    expect(first.judge).toMatchObject({
      judged: 120,
      errors: 0,
      calls: 240,
      cacheHits: 0,
      repeats: 2,
      drift: false,
      partial: false,
    });
    expect(first.judge.fingerprint).toBe(first.lineage.judge.fingerprint);
    // Noise 0.3 moves some scores between the two seeded repeats: the spread and the pooled noise show it.
    expect(first.judge.noise).toBeGreaterThan(0);
    expect(first.judge.meanSpread).toBeGreaterThan(0);
  });

  it('records every judge call: version, prompt hash, params, prompt, raw output, score, latency, tokens, cost', async () => {
    const transcripts = await readTranscripts(world, first.runId);
    expect(transcripts).toHaveLength(240);
    const records = await readRecords(world, first.runId);
    expect(records).toHaveLength(120);
    for (const t of transcripts) {
      expect(t).toMatchObject({
        judgeModelVersion: judgeModel,
        judgeFingerprint: first.judge.fingerprint,
        promptHash: first.lineage.judge.promptHash,
        cached: false,
        attempt: 1,
        error: null,
        parsedScore: expect.any(Number),
        latencyMs: expect.any(Number),
        usage: { inputTokens: expect.any(Number), outputTokens: expect.any(Number) },
      });
      expect(t.prompt).toContain('<output>');
      expect(JSON.parse(t.rawOutput).score).toBe(t.parsedScore);
      expect(t.params).toEqual({ temperature: 0, seed: 7 + t.repeat });
    }
    const judgeCost = transcripts.reduce((sum, t) => sum + t.costUsd, 0);
    expect(judgeCost).toBeCloseTo(first.cost.judgeUsd, 9);
    // Each record carries both repeats' raw scores and their normalised mean as judgeScore.
    const record = records[0];
    expect(record.judge.scores).toHaveLength(2);
    expect(record.judgeScore).toBeCloseTo(
      ((record.judge.scores[0] - 1) / 4 + (record.judge.scores[1] - 1) / 4) / 2,
      12,
    );
  });

  it('reads transcripts back through the API only for principals who may read the dataset rows', async () => {
    const page = await world.editor.get(`/v1/eval-runs/${first.runId}/judge-transcripts?limit=100`);
    expect(page.status).toBe(200);
    expect(page.body.items).toHaveLength(100);
    expect(page.body.nextCursor).toEqual(expect.any(String));
    const rest = await world.editor.get(
      `/v1/eval-runs/${first.runId}/judge-transcripts?limit=1000&cursor=${page.body.nextCursor}`,
    );
    expect(rest.body.items).toHaveLength(140);
    expect(rest.body.nextCursor).toBeNull();
  });

  it("exports the suite's cost as Prometheus series, naming no run", async () => {
    const text = await (
      await fetch(`${world.stack.baseUrl}/metrics`, { headers: { authorization: `Bearer ${world.stack.adminToken}` } })
    ).text();
    const value = (line: RegExp) =>
      Number(
        text
          .split('\n')
          .find((l) => line.test(l))
          ?.split(' ')
          .pop(),
      );
    // A run's id is its existence (restricted runs stay hidden): its cost is on its record, not in a label.
    expect(text).not.toContain(first.runId);
    expect(text).not.toMatch(/run_id=/);
    expect(value(new RegExp(`^evalgate_suite_calls\\{metric_suite_id="${suiteId}".*kind="judge"\\}`))).toBe(240);
    expect(value(new RegExp(`^evalgate_suite_cost_usd\\{metric_suite_id="${suiteId}".*kind="judge"\\}`))).toBeCloseTo(
      first.cost.judgeUsd,
      9,
    );
  });

  it('reruns unchanged outputs with no model and no judge calls, and the same numbers bit for bit', async () => {
    const rerun = await waitForRun(world.editor, (await startRun(generator, suiteId)).body.runId);
    expect(rerun.status).toBe('succeeded');
    expect(world.server.stats().requests.total).toBe(0);
    expect(rerun.cost).toMatchObject({
      calls: 0,
      modelCalls: 0,
      judgeCalls: 0,
      modelUsd: 0,
      judgeUsd: 0,
      cacheHits: 120,
    });
    expect(rerun.judge).toMatchObject({ judged: 120, calls: 0, cacheHits: 240 });
    for (const name of Object.keys(first.results)) expect(rerun.results[name].value).toBe(first.results[name].value);
    const transcripts = await readTranscripts(world, rerun.runId);
    expect(transcripts.every((t) => t.cached && t.costUsd === 0)).toBe(true);
  });
});

describe('judge transcripts of a restricted dataset', () => {
  it('are readable only by the teams the dataset version allows', async () => {
    // The dataset's owners allow the model team (whose generator and judge endpoints receive the rows), not themselves.
    const keeper = unique('keeper');
    const owner = await principal(world.stack, 'owner', [{ team: keeper, roles: ['editor'] }]);
    const created = await owner.post('/v1/datasets', {
      name: unique('secret'),
      taskType: 'generation',
      ownerTeam: keeper,
    });
    await owner.ndjson(
      `/v1/datasets/${created.body.datasetId}/versions?labelPolicy=human_reviewed&visibility=restricted&teams=${world.team}`,
      datasetJsonl('generation', { limit: 10 }),
    );
    const [generator] = await registerGenerator(world, ['lead-v1']);
    const suiteId = await registerJudgedSuite(world, judgeDef(judgeModel));
    const started = await world.editor.post('/v1/eval-runs', {
      modelVersion: generator,
      datasetId: created.body.datasetId,
      metricSuiteId: suiteId,
    });
    const run = await waitForRun(world.editor, started.body.runId);
    expect(run.status).toBe('succeeded');
    expect((await world.editor.get(`/v1/eval-runs/${run.runId}/judge-transcripts`)).body.items).toHaveLength(10);
    // The owning team without the allowed team sees the run's aggregates but not the transcripts; an outsider sees nothing.
    expect((await owner.get(`/v1/eval-runs/${run.runId}`)).status).toBe(200);
    expect((await owner.get(`/v1/eval-runs/${run.runId}/judge-transcripts`)).status).toBe(403);
    const outsider = await principal(world.stack, 'outsider', [{ team: unique('elsewhere'), roles: ['editor'] }]);
    expect((await outsider.get(`/v1/eval-runs/${run.runId}/judge-transcripts`)).status).toBe(404);
  });

  it("refuses a run whose judge's team may not read the rows (the judge endpoint would receive them)", async () => {
    const other = unique('other');
    const owner = await principal(world.stack, 'owner', [{ team: other, roles: ['editor'] }]);
    const created = await owner.post('/v1/datasets', {
      name: unique('secret'),
      taskType: 'generation',
      ownerTeam: other,
    });
    await owner.ndjson(
      `/v1/datasets/${created.body.datasetId}/versions?labelPolicy=human_reviewed&visibility=restricted`,
      datasetJsonl('generation', { limit: 10 }),
    );
    const model = await owner.post('/v1/models', { name: unique('gen'), ownerTeam: other });
    const version = await owner.post(`/v1/models/${model.body.modelId}/versions`, {
      version: 'v1',
      endpoint: { protocol: 'json-predict', url: world.server.predictUrl('lead-v1') },
    });
    const suiteId = await registerJudgedSuite(world, judgeDef(judgeModel)); // judged by world.team's model
    const refused = await admin().post('/v1/eval-runs', {
      modelVersion: version.body.modelVersion,
      datasetId: created.body.datasetId,
      metricSuiteId: suiteId,
    });
    expect([refused.status, refused.body.error?.field]).toEqual([403, 'metricSuiteId']);
  });
});

describe('judge-human agreement', () => {
  it('is recorded (accuracy and kappa) where the rows carry a human score', async () => {
    const labelled = await registerGenerationDataset(world, { limit: 60, humanScores: true });
    const [generator] = await registerGenerator(world, ['keywords-gen-v1']);
    const suiteId = await registerJudgedSuite(world, judgeDef(judgeModel));
    const run = await waitForRun(world.editor, (await startRun(generator, suiteId, labelled.datasetId)).body.runId);
    expect(run.status).toBe('succeeded');
    const records = await readRecords(world, run.runId);
    const agree = records.filter((r) => r.humanScore === r.judge.scores[0]).length;
    expect(run.judge.humanAgreement.n).toBe(60);
    expect(run.judge.humanAgreement.accuracy).toBeCloseTo(agree / 60, 12);
    expect(run.judge.humanAgreement.kappa).toEqual(expect.any(Number));
    // The human score is a label: the model never saw it.
    expect(records.every((r) => typeof r.humanScore === 'number')).toBe(true);
  });
});

describe('judge errors', () => {
  it('retries an unparseable reply once, then records a judge_error: counted, reported, never scored', async () => {
    const [generator] = await registerGenerator(world, ['lead-v1']);
    // Seeds of their own: the earlier tests' judgements of the same outputs are in the judge cache.
    const suiteId = await registerJudgedSuite(
      world,
      judgeDef(judgeModel, { errorRateLimit: 0.5, params: { temperature: 0, seed: 101 } }),
    );
    world.server.setKnobs({ malformedRate: 0.3, faultModels: ['judge-v1'], seed: 3 });
    const run = await waitForRun(world.editor, (await startRun(generator, suiteId)).body.runId);
    expect(run.status).toBe('succeeded');

    const records = await readRecords(world, run.runId);
    const failed = records.filter((r) => r.judge.error);
    expect(failed.length).toBeGreaterThan(0);
    expect(
      failed.every((r) => r.judge.error.class === 'judge_error' && r.judgeScore === undefined && r.judge.calls === 2),
    ).toBe(true);
    expect(run.judge).toMatchObject({ judged: 120, errors: failed.length });
    expect(run.judge.errorRate).toBeCloseTo(failed.length / 120, 12);
    expect(run.results.judge.n).toBe(120 - failed.length);

    const transcripts = await readTranscripts(world, run.runId);
    const retried = transcripts.filter((t) => t.attempt === 2);
    expect(retried.length).toBeGreaterThan(failed.length); // some retries succeeded
    expect(transcripts.filter((t) => t.error?.startsWith('unparseable judge output'))).toHaveLength(
      retried.length + failed.length,
    );
    // Every judge call, failed or not, was counted and priced.
    expect(world.server.stats().requests.byModel['judge-v1']).toBe(run.cost.judgeCalls);
    expect(run.cost.judgeCalls).toBe(120 + retried.length);
    expect(run.cost.judgeUsd).toBeCloseTo(serverSideCost(world, 'judge-v1', JUDGE_PRICING), 9);
  });

  it("fails the run as judge_unreliable when the judge error rate is over the suite's limit", async () => {
    const [generator] = await registerGenerator(world, ['lead-v1']);
    const suiteId = await registerJudgedSuite(world, judgeDef(judgeModel, { params: { temperature: 0, seed: 102 } })); // default limit 2%
    world.server.setKnobs({ malformedRate: 0.5, faultModels: ['judge-v1'], seed: 5 });
    const run = await waitForRun(world.editor, (await startRun(generator, suiteId)).body.runId);
    expect(run.status).toBe('failed');
    expect(run.error.class).toBe('judge_unreliable');
    expect(run.error.message).toMatch(/limit 2\.00%/);
    expect(run.judge.errors).toBeGreaterThan(2);
    expect(run.judge.errorRate).toBeGreaterThan(0.02);
    expect(run.results).toEqual({});
  });
});
