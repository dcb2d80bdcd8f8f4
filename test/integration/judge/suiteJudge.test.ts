/**
 * Registering a suite's judge: what the registry refuses (with the field at fault and
 * nothing written) and what it pins.
 */
import { client, principal, startTestStack, unique, type ApiClient, type TestStack } from '../../../testkit/stack';
import { datasetJsonl } from '../../../testkit/corpus/writeDatasets';
import { JUDGE_PROMPT, JUDGED_METRICS } from './judgeWorld';

let stack: TestStack;
let editor: ApiClient;
let team: string;
let judgeModel: string;
let predictModel: string;

beforeAll(async () => {
  stack = await startTestStack();
  team = unique('ml');
  editor = await principal(stack, 'editor', [{ team, roles: ['editor'] }]);
  const model = await editor.post('/v1/models', { name: unique('judge'), ownerTeam: team });
  // No call is made while registering: the endpoint need not answer.
  const chat = await editor.post(`/v1/models/${model.body.modelId}/versions`, {
    version: 'v1',
    endpoint: { protocol: 'openai-chat', url: 'http://127.0.0.1:9/v1', model: 'judge-v1' },
  });
  judgeModel = chat.body.modelVersion;
  const predict = await editor.post(`/v1/models/${model.body.modelId}/versions`, {
    version: 'p1',
    endpoint: { protocol: 'json-predict', url: 'http://127.0.0.1:9/predict' },
  });
  predictModel = predict.body.modelVersion;
}, 60_000);
afterAll(() => stack.close());

const judge = (extra: Record<string, unknown> = {}) => ({
  modelVersion: judgeModel,
  promptTemplate: JUDGE_PROMPT,
  output: { format: 'json', scoreField: 'score', min: 1, max: 5 },
  params: { temperature: 0, seed: 1 },
  pinned: true,
  ...extra,
});

async function suite(purpose: 'exploratory' | 'release_blocking') {
  const res = await editor.post('/v1/metric-suites', { name: unique('suite'), purpose, ownerTeam: team });
  return res.body.metricSuiteId as string;
}

async function expectRefused(
  purpose: 'exploratory' | 'release_blocking',
  body: Record<string, unknown>,
  status: number,
  field: string,
) {
  const suiteId = await suite(purpose);
  const res = await editor.post(`/v1/metric-suites/${suiteId}/versions`, { metrics: JUDGED_METRICS, ...body });
  expect(res.status).toBe(status);
  expect(res.body.error.field).toBe(field);
  expect(res.body.error.message).toEqual(expect.any(String));
  // Nothing half-written: the suite still has no version.
  expect((await editor.get(`/v1/metric-suites/${suiteId}`)).body.versions).toEqual([]);
  return res.body.error;
}

describe('a suite judge', () => {
  it('is refused unpinned on a release-blocking suite', async () => {
    const error = await expectRefused(
      'release_blocking',
      { judge: judge({ pinned: false, params: { temperature: 0.7 } }) },
      400,
      'judge.pinned',
    );
    expect(error.code).toBe('invalid_request');
    expect(error.message).toMatch(/must pin its judge/);
  });

  it('is refused pinned but sampling above temperature 0', async () => {
    await expectRefused(
      'release_blocking',
      { judge: judge({ params: { temperature: 0.2 } }) },
      400,
      'judge.params.temperature',
    );
    await expectRefused('release_blocking', { judge: judge({ params: {} }) }, 400, 'judge.params.temperature');
    await expectRefused(
      'exploratory',
      { judge: judge({ params: { temperature: 1 } }) },
      400,
      'judge.params.temperature',
    );
  });

  it('may be unpinned on an exploratory suite', async () => {
    const suiteId = await suite('exploratory');
    const res = await editor.post(`/v1/metric-suites/${suiteId}/versions`, {
      metrics: JUDGED_METRICS,
      judge: judge({ pinned: false, params: { temperature: 0.7 } }),
    });
    expect(res.status).toBe(201);
    expect(res.body.judge).toMatchObject({ pinned: false, params: { temperature: 0.7 } });
  });

  it('is pinned by model version, prompt hash and params: its fingerprint changes with any of them', async () => {
    const suiteId = await suite('release_blocking');
    const a = await editor.post(`/v1/metric-suites/${suiteId}/versions`, { metrics: JUDGED_METRICS, judge: judge() });
    expect(a.status).toBe(201);
    expect(a.body.judge).toMatchObject({
      modelVersion: judgeModel,
      pinned: true,
      params: { temperature: 0, seed: 1 },
      promptHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      repeats: 1,
      errorRateLimit: 0.02,
    });
    expect(a.body.judgeFingerprint).toMatch(/^[0-9a-f]{32}$/);
    const b = await editor.post(`/v1/metric-suites/${suiteId}/versions`, {
      metrics: JUDGED_METRICS,
      judge: judge({ promptTemplate: `${JUDGE_PROMPT}\nBe strict.` }),
    });
    const c = await editor.post(`/v1/metric-suites/${suiteId}/versions`, {
      metrics: JUDGED_METRICS,
      judge: judge({ params: { temperature: 0, seed: 2 } }),
    });
    expect(new Set([a.body.judgeFingerprint, b.body.judgeFingerprint, c.body.judgeFingerprint]).size).toBe(3);
    expect(b.body.judge.promptHash).not.toBe(a.body.judge.promptHash);
  });

  it('must show the judge the candidate output, speak openai-chat and score a generation suite', async () => {
    await expectRefused(
      'exploratory',
      { judge: judge({ promptTemplate: 'Rate {{input}} against {{reference}}' }) },
      400,
      'judge.promptTemplate',
    );
    await expectRefused('exploratory', { judge: judge({ modelVersion: predictModel }) }, 400, 'judge.modelVersion');
    await expectRefused('exploratory', { judge: judge({ modelVersion: 'nope@1' }) }, 404, 'judge.modelVersion');
    await expectRefused(
      'exploratory',
      { judge: judge({ params: { temperature: 0, messages: [] } }) },
      400,
      'judge.params.messages',
    );
    const suiteId = await suite('exploratory');
    const res = await editor.post(`/v1/metric-suites/${suiteId}/versions`, {
      metrics: [{ name: 'accuracy', metric: 'accuracy' }],
      judge: judge(),
    });
    expect(res.status).toBe(400);
    expect(res.body.error.field).toBe('judge');
  });

  it('takes a canary only from a readable generation dataset, and agreement limits only with a canary', async () => {
    await expectRefused('exploratory', { judge: judge({ agreementFloor: 0.8 }) }, 400, 'judge.canaryDatasetId');
    const classification = await editor.post('/v1/datasets', {
      name: unique('spam'),
      taskType: 'classification',
      ownerTeam: team,
    });
    await editor.ndjson(
      `/v1/datasets/${classification.body.datasetId}/versions?labelPolicy=human_reviewed`,
      datasetJsonl('classification', { limit: 5 }),
    );
    await expectRefused(
      'exploratory',
      { judge: judge({ canaryDatasetId: classification.body.datasetId }) },
      400,
      'judge.canaryDatasetId',
    );
    await expectRefused(
      'exploratory',
      { judge: judge({ canaryDatasetId: '00000000-0000-4000-8000-000000000000' }) },
      404,
      'judge.canaryDatasetId',
    );

    // A restricted canary of another team is not even there for this editor.
    const otherTeam = unique('other');
    const other = await principal(stack, 'other', [{ team: otherTeam, roles: ['editor'] }]);
    const hidden = await other.post('/v1/datasets', {
      name: unique('canary'),
      taskType: 'generation',
      ownerTeam: otherTeam,
    });
    await other.ndjson(
      `/v1/datasets/${hidden.body.datasetId}/versions?labelPolicy=human_reviewed&visibility=restricted&teams=${otherTeam}`,
      datasetJsonl('generation', { limit: 5 }),
    );
    await expectRefused(
      'exploratory',
      { judge: judge({ canaryDatasetId: hidden.body.datasetId }) },
      404,
      'judge.canaryDatasetId',
    );
  });

  it('needs an API key like everything else', async () => {
    const res = await client(stack.baseUrl).post(`/v1/metric-suites/${await suite('exploratory')}/versions`, {
      metrics: JUDGED_METRICS,
      judge: judge(),
    });
    expect(res.status).toBe(401);
  });
});
