/**
 * Data access of the judge aggregate: the judge cache, judge model versions, run judge
 * stats, the drift canary's results and agreement baselines, and judge cost totals.
 */
import type { Queryable } from '../../common/db';
import type { Pricing, TokenUsage } from '../budgets/estimate';
import type { DatasetVersionRecord } from '../datasets/dal';
import type { EndpointSpec } from '../models/types';
import type { JudgeStatsState } from './stats';
import type { StoredJudge } from './types';

export interface RunJudgeStatsRecord {
  judge_fingerprint: string;
  repeats: number;
  judged: string;
  judge_errors: string;
  error_rate: number | null;
  error_rate_limit: number;
  calls: string;
  cache_hits: string;
  cost_usd: number;
  input_tokens: string;
  output_tokens: string;
  noise: number | null;
  mean_spread: number | null;
  human_n: string;
  human_accuracy: number | null;
  human_kappa: number | null;
  partial: boolean;
}

export interface CanaryResultRecord {
  canary_dataset_version_id: string;
  n: number;
  judge_errors: number;
  calls: number;
  cost_usd: number;
  accuracy: number | null;
  kappa: number | null;
  baseline_accuracy: number | null;
  baseline_run_id: string | null;
  agreement_floor: number | null;
  max_agreement_drop: number;
  drift: boolean;
  reasons: string[];
}

export async function findRunJudgeStats(q: Queryable, runId: string) {
  const { rows } = await q.query<RunJudgeStatsRecord>('SELECT * FROM eval_run_judge_stats WHERE run_id = $1', [runId]);
  return rows[0];
}

export async function findCanaryResult(q: Queryable, runId: string) {
  const { rows } = await q.query<CanaryResultRecord>('SELECT * FROM judge_canary_results WHERE run_id = $1', [runId]);
  return rows[0];
}

/** Live judge totals from the shards' checkpoints while the run is going. */
export async function liveJudgeTotals(q: Queryable, runId: string) {
  const { rows } = await q.query<{ calls: string; hits: string; judged: string; errors: string; cost: number }>(
    `SELECT COALESCE(SUM(calls_judge), 0) AS calls, COALESCE(SUM(judge_cache_hits), 0) AS hits, COALESCE(SUM(judged), 0) AS judged,
            COALESCE(SUM(judge_errors), 0) AS errors, COALESCE(SUM(judge_cost_usd), 0) AS cost FROM eval_run_shards WHERE run_id = $1`,
    [runId],
  );
  return rows[0];
}

export async function findBudget(q: Queryable, runId: string) {
  const { rows } = await q.query<{
    max_calls: string | null;
    max_cost_usd: string | null;
    reserved_calls: string;
    reserved_cost_usd: string;
    exhausted_at: Date | null;
  }>(
    'SELECT max_calls, max_cost_usd, reserved_calls, reserved_cost_usd, exhausted_at FROM run_budgets WHERE run_id = $1',
    [runId],
  );
  return rows[0];
}

// ---- the judge cache (`judge_cache`) ----

export interface CachedJudgement {
  score: number;
  rawOutput: string;
  usage: TokenUsage | null;
}

export interface NewJudgement extends CachedJudgement {
  key: string;
  promptHash: string;
  paramsHash: string;
  outputHash: string;
  referenceHash: string;
  repeat: number;
}

export async function lookupJudgements(q: Queryable, keys: string[]): Promise<Map<string, CachedJudgement>> {
  const found = new Map<string, CachedJudgement>();
  if (!keys.length) return found;
  const { rows } = await q.query<{ cache_key: string; score: number; raw_output: string; usage: TokenUsage | null }>(
    `SELECT cache_key, score, raw_output, usage FROM judge_cache
      WHERE cache_key = ANY($1::text[]) AND (expires_at IS NULL OR expires_at > now())`,
    [keys],
  );
  for (const row of rows) found.set(row.cache_key, { score: row.score, rawOutput: row.raw_output, usage: row.usage });
  return found;
}

/**
 * Inserts new judgements; an existing entry keeps the later expiry of the two and adds the
 * dataset version that wrote it (a legal hold on any of them keeps the entry).
 */
export async function storeJudgements(
  q: Queryable,
  judgeModelVersionId: string,
  expiresAt: Date,
  all: NewJudgement[],
  datasetVersionId?: string,
): Promise<void> {
  // Two examples of one part can share a key (the same output for the same reference): one row each, or the upsert refuses.
  const entries = [...new Map(all.map((e) => [e.key, e])).values()];
  if (!entries.length) return;
  await q.query(
    `INSERT INTO judge_cache (cache_key, judge_model_version_id, prompt_hash, params_hash, output_hash, reference_hash, repeat_index,
                              score, raw_output, usage, expires_at, dataset_version_ids)
     SELECT k, $1, ph, pa, oh, rh, r, s, o, u, $2, $12::uuid[]
       FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $9::float8[], $10::text[],
                    $11::jsonb[]) AS x(k, ph, pa, oh, rh, r, s, o, u)
     ON CONFLICT (cache_key) DO UPDATE SET expires_at = GREATEST(judge_cache.expires_at, EXCLUDED.expires_at),
       dataset_version_ids = CASE WHEN EXCLUDED.dataset_version_ids <@ judge_cache.dataset_version_ids
                                  THEN judge_cache.dataset_version_ids
                                  ELSE judge_cache.dataset_version_ids || EXCLUDED.dataset_version_ids END`,
    [
      judgeModelVersionId,
      expiresAt,
      entries.map((e) => e.key),
      entries.map((e) => e.promptHash),
      entries.map((e) => e.paramsHash),
      entries.map((e) => e.outputHash),
      entries.map((e) => e.referenceHash),
      entries.map((e) => e.repeat),
      entries.map((e) => e.score),
      entries.map((e) => e.rawOutput),
      entries.map((e) => (e.usage ? JSON.stringify(e.usage) : null)),
      datasetVersionId ? [datasetVersionId] : [],
    ],
  );
}

// ---- judge model versions and a run's judge ----

export interface JudgeModelVersionRow {
  model_version_id: string;
  model_name: string;
  version: string;
  endpoint: EndpointSpec;
  params: Record<string, unknown>;
  pricing: Pricing;
}

export async function findJudgeModelVersionByName(q: Queryable, modelName: string, version: string) {
  const { rows } = await q.query<JudgeModelVersionRow>(
    `SELECT mv.model_version_id, m.name AS model_name, mv.version, mv.endpoint, mv.params, mv.pricing
       FROM model_versions mv JOIN models m USING (model_id) WHERE m.name = $1 AND mv.version = $2`,
    [modelName, version],
  );
  return rows[0];
}

export async function findJudgeModelVersion(q: Queryable, modelVersionId: string) {
  const { rows } = await q.query<JudgeModelVersionRow>(
    `SELECT mv.model_version_id, m.name AS model_name, mv.version, mv.endpoint, mv.params, mv.pricing
       FROM model_versions mv JOIN models m USING (model_id) WHERE mv.model_version_id = $1`,
    [modelVersionId],
  );
  return rows[0];
}

/** The stored judge of the run's suite version (null when it has none); undefined when the run does not exist. */
export async function findRunSuiteJudge(q: Queryable, runId: string) {
  const { rows } = await q.query<{ judge: StoredJudge | null; judge_fingerprint: string | null }>(
    `SELECT sv.judge, sv.judge_fingerprint FROM eval_runs r
       JOIN metric_suite_versions sv ON sv.metric_suite_version_id = r.metric_suite_version_id WHERE r.run_id = $1`,
    [runId],
  );
  return rows[0];
}

// ---- a run's judge aggregates ----

/** Each shard's judge counters and stats state, in shard order. */
export async function listShardJudgeTotals(q: Queryable, runId: string) {
  const { rows } = await q.query<{
    judged: number;
    judge_errors: number;
    calls_judge: number;
    judge_cache_hits: number;
    judge_cost_usd: number;
    judge_input_tokens: string;
    judge_output_tokens: string;
    judge_stats: Partial<JudgeStatsState>;
  }>(
    `SELECT judged, judge_errors, calls_judge, judge_cache_hits, judge_cost_usd, judge_input_tokens, judge_output_tokens, judge_stats
       FROM eval_run_shards WHERE run_id = $1 ORDER BY shard_index`,
    [runId],
  );
  return rows;
}

export interface RunJudgeStatsRow {
  runId: string;
  fingerprint: string;
  repeats: number;
  judged: number;
  errors: number;
  errorRate: number | null;
  errorRateLimit: number;
  calls: number;
  cacheHits: number;
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
  noise: number | null;
  meanSpread: number | null;
  humanN: number;
  humanAccuracy: number | null;
  humanKappa: number | null;
  partial: boolean;
}

export async function upsertRunJudgeStats(q: Queryable, r: RunJudgeStatsRow): Promise<void> {
  await q.query(
    `INSERT INTO eval_run_judge_stats (run_id, judge_fingerprint, repeats, judged, judge_errors, error_rate, error_rate_limit, calls,
                                       cache_hits, cost_usd,
                                       input_tokens, output_tokens, noise, mean_spread, human_n, human_accuracy, human_kappa, partial)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
     ON CONFLICT (run_id) DO UPDATE SET judged = EXCLUDED.judged, judge_errors = EXCLUDED.judge_errors, error_rate = EXCLUDED.error_rate,
       calls = EXCLUDED.calls, cache_hits = EXCLUDED.cache_hits, cost_usd = EXCLUDED.cost_usd, input_tokens = EXCLUDED.input_tokens,
       output_tokens = EXCLUDED.output_tokens, noise = EXCLUDED.noise, mean_spread = EXCLUDED.mean_spread, human_n = EXCLUDED.human_n,
       human_accuracy = EXCLUDED.human_accuracy, human_kappa = EXCLUDED.human_kappa, partial = EXCLUDED.partial, computed_at = now()`,
    [
      r.runId,
      r.fingerprint,
      r.repeats,
      r.judged,
      r.errors,
      r.errorRate,
      r.errorRateLimit,
      r.calls,
      r.cacheHits,
      r.costUsd,
      r.inputTokens,
      r.outputTokens,
      r.noise,
      r.meanSpread,
      r.humanN,
      r.humanAccuracy,
      r.humanKappa,
      r.partial,
    ],
  );
}

// ---- the drift canary (activities/judge/canary.ts) ----

/** The dataset's newest active version. */
export async function findLatestActiveDatasetVersion(q: Queryable, datasetId: string) {
  const { rows } = await q.query<{ dataset_version_id: string; version: number }>(
    `SELECT dataset_version_id, version FROM dataset_versions WHERE dataset_id = $1 AND status = 'active' ORDER BY version DESC LIMIT 1`,
    [datasetId],
  );
  return rows[0];
}

/** The object keys of a dataset version's shards, in shard order. */
export async function listShardObjectKeys(q: Queryable, datasetVersionId: string): Promise<string[]> {
  const { rows } = await q.query<{ object_key: string }>(
    'SELECT object_key FROM dataset_shards WHERE dataset_version_id = $1 ORDER BY shard_index',
    [datasetVersionId],
  );
  return rows.map((r) => r.object_key);
}

/** The object key of one shard of the dataset version a run evaluated. */
export async function findRunShardObjectKey(q: Queryable, runId: string, shardIndex: number) {
  const { rows } = await q.query<{ object_key: string }>(
    `SELECT s.object_key FROM eval_runs r JOIN dataset_shards s ON s.dataset_version_id = r.dataset_version_id
      WHERE r.run_id = $1 AND s.shard_index = $2`,
    [runId, shardIndex],
  );
  return rows[0]?.object_key;
}

/** Records a judge's first agreement on a canary version; a later one never replaces it. */
export async function insertAgreementBaseline(
  q: Queryable,
  b: {
    fingerprint: string;
    canaryDatasetVersionId: string;
    accuracy: number;
    kappa: number | null;
    n: number;
    runId: string;
  },
): Promise<void> {
  await q.query(
    `INSERT INTO judge_agreement_baselines (judge_fingerprint, canary_dataset_version_id, accuracy, kappa, n, run_id)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
    [b.fingerprint, b.canaryDatasetVersionId, b.accuracy, b.kappa, b.n, b.runId],
  );
}

export async function findAgreementBaseline(q: Queryable, fingerprint: string, canaryDatasetVersionId: string) {
  const { rows } = await q.query<{ accuracy: number; run_id: string }>(
    'SELECT accuracy, run_id FROM judge_agreement_baselines WHERE judge_fingerprint = $1 AND canary_dataset_version_id = $2',
    [fingerprint, canaryDatasetVersionId],
  );
  return rows[0];
}

export interface CanaryResultRow {
  runId: string;
  fingerprint: string;
  canaryDatasetVersionId: string;
  n: number;
  judgeErrors: number;
  calls: number;
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
  accuracy: number | null;
  kappa: number | null;
  baselineAccuracy: number | null;
  baselineRunId: string | null;
  agreementFloor: number | null;
  maxAgreementDrop: number;
  drift: boolean;
  reasons: string[];
}

export async function upsertCanaryResult(q: Queryable, r: CanaryResultRow): Promise<void> {
  await q.query(
    `INSERT INTO judge_canary_results (run_id, judge_fingerprint, canary_dataset_version_id, n, judge_errors, calls, cost_usd,
                                       input_tokens, output_tokens,
                                       accuracy, kappa, baseline_accuracy, baseline_run_id, agreement_floor, max_agreement_drop,
                                       drift, reasons)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
     ON CONFLICT (run_id) DO UPDATE SET n = EXCLUDED.n, judge_errors = EXCLUDED.judge_errors, calls = EXCLUDED.calls,
       cost_usd = EXCLUDED.cost_usd,
       input_tokens = EXCLUDED.input_tokens, output_tokens = EXCLUDED.output_tokens, accuracy = EXCLUDED.accuracy, kappa = EXCLUDED.kappa,
       baseline_accuracy = EXCLUDED.baseline_accuracy, baseline_run_id = EXCLUDED.baseline_run_id, drift = EXCLUDED.drift,
       reasons = EXCLUDED.reasons`,
    [
      r.runId,
      r.fingerprint,
      r.canaryDatasetVersionId,
      r.n,
      r.judgeErrors,
      r.calls,
      r.costUsd,
      r.inputTokens,
      r.outputTokens,
      r.accuracy,
      r.kappa,
      r.baselineAccuracy,
      r.baselineRunId,
      r.agreementFloor,
      r.maxAgreementDrop,
      r.drift,
      JSON.stringify(r.reasons),
    ],
  );
}

/** Merges keys into the run's judge flags (eval_runs.judge_flags). */
export async function mergeRunJudgeFlags(q: Queryable, runId: string, flags: Record<string, unknown>): Promise<void> {
  await q.query('UPDATE eval_runs SET judge_flags = judge_flags || $2::jsonb WHERE run_id = $1', [
    runId,
    JSON.stringify(flags),
  ]);
}

// ---- reads for the api (judge transcripts, cost metrics) ----

/** The dataset version a run evaluated, with its dataset's owner (transcripts are read under its access policy). */
export async function findRunDatasetVersion(q: Queryable, runId: string) {
  const { rows } = await q.query<DatasetVersionRecord & { owner_team: string }>(
    `SELECT v.*, d.owner_team FROM eval_runs r JOIN dataset_versions v USING (dataset_version_id)
            JOIN datasets d ON d.dataset_id = v.dataset_id
      WHERE r.run_id = $1`,
    [runId],
  );
  return rows[0];
}

export interface SuiteCostRow {
  metric_suite_id: string;
  name: string;
  model_usd: number;
  judge_usd: number;
  model_calls: string;
  judge_calls: string;
}

/** Model and judge spend and calls of every suite's runs. */
export async function suiteCosts(q: Queryable): Promise<SuiteCostRow[]> {
  const { rows } = await q.query<SuiteCostRow>(
    `SELECT s.metric_suite_id, s.name, COALESCE(SUM(r.cost_model_usd), 0)::float8 AS model_usd,
            COALESCE(SUM(r.cost_judge_usd), 0)::float8 AS judge_usd,
            COALESCE(SUM(r.calls_model), 0) AS model_calls, COALESCE(SUM(r.calls_judge), 0) AS judge_calls
       FROM eval_runs r JOIN metric_suite_versions sv USING (metric_suite_version_id)
       JOIN metric_suites s ON s.metric_suite_id = sv.metric_suite_id
      GROUP BY s.metric_suite_id, s.name`,
  );
  return rows;
}

export interface RunCostRow {
  run_id: string;
  metric_suite_id: string;
  model_usd: number;
  judge_usd: number;
}

/** Spend of the newest runs created within `window` (a PostgreSQL interval, a constant of the caller), at most `limit`. */
export async function recentRunCosts(q: Queryable, window: string, limit: number): Promise<RunCostRow[]> {
  const { rows } = await q.query<RunCostRow>(
    `SELECT r.run_id, sv.metric_suite_id, r.cost_model_usd::float8 AS model_usd, r.cost_judge_usd::float8 AS judge_usd
       FROM eval_runs r JOIN metric_suite_versions sv USING (metric_suite_version_id)
      WHERE r.created_at > now() - interval '${window}' ORDER BY r.created_at DESC LIMIT ${limit}`,
  );
  return rows;
}
