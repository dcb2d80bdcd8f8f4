/**
 * Registry fixtures for judged runs: subject-line generation datasets from the
 * SpamAssassin held-out split, the reference server's generators as json-predict model
 * versions, judge-v1 as an openai-chat judge, and suites that score with it.
 */
import { canaryJsonl } from '../../../testkit/corpus/canary';
import { datasetJsonl, generationRows } from '../../../testkit/corpus/writeDatasets';
import { unique } from '../../../testkit/stack';
import type { EvalWorld } from '../../../testkit/evalWorld';

export const JUDGE_PROMPT = [
  'Rate how well the candidate subject line matches the reference, from 1 to 5.',
  'Email body:',
  '{{input}}',
  '<output>{{output}}</output>',
  '<reference>{{reference}}</reference>',
  'Answer as JSON: {"score": <1-5>, "reason": "..."}',
].join('\n');

export const MODEL_PRICING = { perCallUsd: 0.001, inputPer1kTokensUsd: 0.0005, outputPer1kTokensUsd: 0.0015 };
export const JUDGE_PRICING = { perCallUsd: 0.002, inputPer1kTokensUsd: 0.003, outputPer1kTokensUsd: 0.006 };

/** Cost of a model's calls from the server's own counts: calls × per-call price + tokens × per-1k prices. */
export function serverSideCost(world: EvalWorld, model: string, pricing: typeof MODEL_PRICING): number {
  const stats = world.server.stats();
  const calls = stats.requests.byModel[model] ?? 0;
  const tokens = stats.tokens.byModel[model] ?? { prompt: 0, completion: 0 };
  return (
    calls * pricing.perCallUsd +
    (tokens.prompt / 1000) * pricing.inputPer1kTokensUsd +
    (tokens.completion / 1000) * pricing.outputPer1kTokensUsd
  );
}

export async function registerGenerationDataset(
  world: EvalWorld,
  options: { limit: number; offset?: number; humanScores?: boolean; labelPolicy?: string },
) {
  const created = await world.editor.post('/v1/datasets', {
    name: unique('subjects'),
    taskType: 'generation',
    ownerTeam: world.team,
  });
  let body: string;
  if (options.humanScores) {
    // Rows that carry a human score of the reference itself (5) or of nothing useful (1), for judge–human agreement.
    body =
      [...generationRows({ limit: options.limit })]
        .map((row, i) => JSON.stringify({ ...row, humanScore: i % 3 === 0 ? 5 : 1 }))
        .join('\n') + '\n';
  } else {
    body = datasetJsonl('generation', { limit: options.limit });
  }
  const up = await world.editor.ndjson(
    `/v1/datasets/${created.body.datasetId}/versions?labelPolicy=${options.labelPolicy ?? 'human_reviewed'}`,
    body,
  );
  if (up.status !== 201) throw new Error(`upload failed: ${JSON.stringify(up.body)}`);
  return { datasetId: created.body.datasetId as string, rowCount: up.body.rowCount as number };
}

export async function registerCanaryDataset(world: EvalWorld, limit: number) {
  const created = await world.editor.post('/v1/datasets', {
    name: unique('canary'),
    taskType: 'generation',
    ownerTeam: world.team,
  });
  const up = await world.editor.ndjson(
    `/v1/datasets/${created.body.datasetId}/versions?labelPolicy=human_reviewed`,
    canaryJsonl({ limit }),
  );
  if (up.status !== 201) throw new Error(`canary upload failed: ${JSON.stringify(up.body)}`);
  return { datasetId: created.body.datasetId as string, rowCount: up.body.rowCount as number };
}

/** A model whose versions are the reference server's generators over json-predict. */
export async function registerGenerator(
  world: EvalWorld,
  serverModels: string[] = ['lead-v1'],
  pricing: object = MODEL_PRICING,
) {
  const model = await world.editor.post('/v1/models', { name: unique('subject-gen'), ownerTeam: world.team });
  const versions: string[] = [];
  for (const name of serverModels) {
    const res = await world.editor.post(`/v1/models/${model.body.modelId}/versions`, {
      version: name,
      endpoint: { protocol: 'json-predict', url: world.server.predictUrl(name) },
      pricing,
    });
    if (res.status !== 201) throw new Error(`model version failed: ${JSON.stringify(res.body)}`);
    versions.push(res.body.modelVersion);
  }
  return versions;
}

/** judge-v1 on the openai-chat protocol. */
export async function registerJudgeModel(world: EvalWorld, pricing: object = JUDGE_PRICING) {
  const model = await world.editor.post('/v1/models', { name: unique('judge'), ownerTeam: world.team });
  const res = await world.editor.post(`/v1/models/${model.body.modelId}/versions`, {
    version: 'v1',
    endpoint: { protocol: 'openai-chat', url: world.server.openaiBaseUrl, model: 'judge-v1' },
    pricing,
  });
  if (res.status !== 201) throw new Error(`judge model version failed: ${JSON.stringify(res.body)}`);
  return res.body.modelVersion as string;
}

export function judgeDef(judgeModelVersion: string, extra: Record<string, unknown> = {}) {
  return {
    modelVersion: judgeModelVersion,
    promptTemplate: JUDGE_PROMPT,
    output: { format: 'json', scoreField: 'score', min: 1, max: 5, requiredFields: ['reason'] },
    params: { temperature: 0, seed: 7 },
    repeats: 1,
    pinned: true,
    ...extra,
  };
}

export const JUDGED_METRICS = [
  { name: 'judge', metric: 'judge_score' },
  { name: 'token_f1', metric: 'token_f1' },
];

export async function registerJudgedSuite(
  world: EvalWorld,
  judge: Record<string, unknown>,
  options: { purpose?: 'exploratory' | 'release_blocking'; budget?: object } = {},
) {
  const suite = await world.editor.post('/v1/metric-suites', {
    name: unique('judged'),
    purpose: options.purpose ?? 'exploratory',
    ownerTeam: world.team,
  });
  const version = await world.editor.post(`/v1/metric-suites/${suite.body.metricSuiteId}/versions`, {
    metrics: JUDGED_METRICS,
    judge,
    ...(options.budget ? { budget: options.budget } : {}),
  });
  if (version.status !== 201) throw new Error(`suite version failed: ${JSON.stringify(version.body)}`);
  return suite.body.metricSuiteId as string;
}

/** Every line of the run's judge transcripts (object storage, read back directly). */
export async function readTranscripts(world: EvalWorld, runId: string) {
  const keys = (await world.stack.storage.list(`runs/${runId}/`))
    .filter((k) => /judge-part-\d{4}\.jsonl$/.test(k))
    .sort();
  const lines: any[] = [];
  for (const key of keys)
    for (const line of (await world.stack.storage.getBuffer(key)).toString('utf8').split('\n'))
      if (line) lines.push({ key, ...JSON.parse(line) });
  return lines;
}

/** Every stored ExampleRecord of the run's parts. */
export async function readRecords(world: EvalWorld, runId: string) {
  const keys = (await world.stack.storage.list(`runs/${runId}/`)).filter((k) => /\/part-\d{4}\.jsonl$/.test(k)).sort();
  const records: any[] = [];
  for (const key of keys)
    for (const line of (await world.stack.storage.getBuffer(key)).toString('utf8').split('\n'))
      if (line) records.push(JSON.parse(line));
  return records;
}
