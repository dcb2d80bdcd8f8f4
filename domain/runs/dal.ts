/**
 * Data access of the runs aggregate: eval_runs, their shards' progress rows and metric
 * results, and the registry rows a run is created from. Plain SQL; rules live in
 * createRun.ts and context.ts, the lifecycle in activities/runs.
 */
import type { Queryable } from '../../common/db';
import type { TaskType } from '../../common/rows';
import type { DatasetVersionRecord } from '../datasets/dal';

export interface RunRecord {
  run_id: string;
  idempotency_key: string | null;
  model_version_id: string;
  dataset_version_id: string;
  metric_suite_version_id: string;
  mode: 'exploratory' | 'release';
  status: string;
  error_class: string | null;
  error_message: string | null;
  invalid_reason: string | null;
  progress_done: string;
  progress_total: string;
  seed: string;
  judge_fingerprint: string | null;
  metric_impl_versions: Record<string, string>;
  lineage: Record<string, unknown>;
  platform_version: string;
  workflow_id: string;
  task_queue: string;
  cost_model_usd: string;
  cost_judge_usd: string;
  calls_model: string;
  calls_judge: string;
  cache_hits: string;
  errors: string;
  queue_ms: string | null;
  run_ms: string | null;
  metrics_ms: string | null;
  judge_flags: Record<string, unknown>;
  created_by: string;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export interface TargetModel {
  model_id: string;
  name: string;
  owner_team: string;
}
export interface TargetModelVersion {
  model_version_id: string;
  version: string;
  protocol: string;
  endpoint: { url: string; model?: string };
  prompt_template_hash: string | null;
  params: Record<string, unknown>;
  params_hash: string;
}
export interface TargetDataset {
  dataset_id: string;
  name: string;
  task_type: TaskType;
  owner_team: string;
}
export interface TargetDatasetVersion {
  dataset_version_id: string;
  dataset_id: string;
  version: number;
  content_hash: string;
  row_count: string;
  label_policy: string;
  visibility: 'public' | 'internal' | 'restricted';
  allowed_teams: string[];
  classification: string;
  status: 'active' | 'deprecated';
  deprecated_reason: string | null;
}
export interface TargetSuite {
  metric_suite_id: string;
  name: string;
  purpose: 'exploratory' | 'release_blocking';
  owner_team: string;
}
export interface TargetSuiteVersion {
  metric_suite_version_id: string;
  version: number;
  content_hash: string;
  require_human_labels: boolean;
  judge_fingerprint: string | null;
  metrics: { name: string; metric: string; implVersion: string }[];
  judge: { modelVersion: string; promptHash: string; params: unknown; pinned: boolean } | null;
}

export interface ResultRecord {
  result_id: string;
  metric_name: string;
  metric_id: string;
  impl_version: string;
  value: number | null;
  ci_low: number | null;
  ci_high: number | null;
  n: string;
  reason: string | null;
  slices: Record<string, unknown>;
  /** Computed from the part of a run that finished before its budget ran out. */
  partial?: boolean;
}

export async function findRun(q: Queryable, runId: string) {
  const { rows } = await q.query<RunRecord>('SELECT * FROM eval_runs WHERE run_id = $1', [runId]);
  return rows[0];
}

export async function currentResults(q: Queryable, runId: string) {
  const { rows } = await q.query<ResultRecord>(
    'SELECT * FROM metric_results WHERE run_id = $1 AND superseded_at IS NULL ORDER BY metric_name',
    [runId],
  );
  return rows;
}

/** Live progress from the shards' checkpoints while the run is going. */
export async function shardProgress(q: Queryable, runId: string) {
  const { rows } = await q.query<{ done: string; calls: string; hits: string; errors: string; cost: number }>(
    `SELECT COALESCE(SUM(rows_done), 0) AS done, COALESCE(SUM(calls_model), 0) AS calls, COALESCE(SUM(cache_hits), 0) AS hits,
            COALESCE(SUM(errors), 0) AS errors, COALESCE(SUM(cost_usd), 0) AS cost FROM eval_run_shards WHERE run_id = $1`,
    [runId],
  );
  return rows[0];
}

export async function findRunByIdempotencyKey(
  q: Queryable,
  createdBy: string,
  key: string,
): Promise<RunRecord | undefined> {
  const { rows } = await q.query<RunRecord>('SELECT * FROM eval_runs WHERE created_by = $1 AND idempotency_key = $2', [
    createdBy,
    key,
  ]);
  return rows[0];
}

/**
 * The newest run that may decide a gate for this model × dataset × suite version: release
 * mode, succeeded, not invalidated, no judge drift, every current result complete.
 */
export async function findDecidingRun(
  q: Queryable,
  key: { modelVersionId: string; datasetVersionId: string; suiteVersionId: string },
): Promise<RunRecord | undefined> {
  const { rows } = await q.query<RunRecord>(
    `SELECT r.* FROM eval_runs r
      WHERE r.model_version_id = $1 AND r.dataset_version_id = $2 AND r.metric_suite_version_id = $3
        AND r.mode = 'release' AND r.status = 'succeeded' AND COALESCE((r.judge_flags->>'drift')::boolean, false) = false
      ORDER BY r.finished_at DESC NULLS LAST, r.created_at DESC LIMIT 1`,
    [key.modelVersionId, key.datasetVersionId, key.suiteVersionId],
  );
  return rows[0];
}

/** The dataset version a run evaluated, with its dataset's owner, name and task type (access checks). */
export async function findRunDatasetVersion(q: Queryable, datasetVersionId: string) {
  const { rows } = await q.query<DatasetVersionRecord & { owner_team: string; name: string; task_type: string }>(
    `SELECT v.*, d.owner_team, d.name, d.task_type FROM dataset_versions v JOIN datasets d USING (dataset_id)
            WHERE v.dataset_version_id = $1`,
    [datasetVersionId],
  );
  return rows[0];
}

// ---- what a run is created from (createRun.ts resolves and validates) ----

export async function findTargetModelVersionById(q: Queryable, modelVersionId: string) {
  const { rows } = await q.query<TargetModelVersion & TargetModel>(
    'SELECT v.*, m.name, m.owner_team FROM model_versions v JOIN models m USING (model_id) WHERE v.model_version_id = $1',
    [modelVersionId],
  );
  return rows[0];
}

export async function findTargetModelVersionByName(q: Queryable, modelName: string, version: string) {
  const { rows } = await q.query<TargetModelVersion & TargetModel>(
    'SELECT v.*, m.name, m.owner_team FROM models m JOIN model_versions v USING (model_id) WHERE m.name = $1 AND v.version = $2',
    [modelName, version],
  );
  return rows[0];
}

export async function findTargetDataset(q: Queryable, datasetId: string) {
  return (await q.query<TargetDataset>('SELECT * FROM datasets WHERE dataset_id = $1', [datasetId])).rows[0];
}

/** The given version of the dataset, or its newest active one when `version` is undefined. */
export async function findTargetDatasetVersion(q: Queryable, datasetId: string, version: number | undefined) {
  return (
    version === undefined
      ? await q.query<TargetDatasetVersion>(
          `SELECT * FROM dataset_versions WHERE dataset_id = $1 AND status = 'active' ORDER BY version DESC LIMIT 1`,
          [datasetId],
        )
      : await q.query<TargetDatasetVersion>('SELECT * FROM dataset_versions WHERE dataset_id = $1 AND version = $2', [
          datasetId,
          version,
        ])
  ).rows[0];
}

export async function findTargetSuite(q: Queryable, metricSuiteId: string) {
  return (await q.query<TargetSuite>('SELECT * FROM metric_suites WHERE metric_suite_id = $1', [metricSuiteId]))
    .rows[0];
}

/** The given version of the suite, or its newest when `version` is undefined. */
export async function findTargetSuiteVersion(q: Queryable, metricSuiteId: string, version: number | undefined) {
  return (
    version === undefined
      ? await q.query<TargetSuiteVersion>(
          'SELECT * FROM metric_suite_versions WHERE metric_suite_id = $1 ORDER BY version DESC LIMIT 1',
          [metricSuiteId],
        )
      : await q.query<TargetSuiteVersion>(
          'SELECT * FROM metric_suite_versions WHERE metric_suite_id = $1 AND version = $2',
          [metricSuiteId, version],
        )
  ).rows[0];
}

export interface NewRunRow {
  runId: string;
  idempotencyKey: string | null;
  modelVersionId: string;
  datasetVersionId: string;
  metricSuiteVersionId: string;
  mode: string;
  seed: string;
  judgeFingerprint: string | null;
  metricImplVersions: Record<string, string>;
  lineage: unknown;
  platformVersion: string;
  workflowId: string;
  taskQueue: string;
  progressTotal: number;
  createdBy: string;
  /** How long the run's outputs live after it ends (its dataset classification's retention when it was created). */
  retentionSeconds: number;
}

/** Inserts the run row; undefined when the principal already has a run with this idempotency key. */
export async function insertRun(q: Queryable, run: NewRunRow): Promise<RunRecord | undefined> {
  const { rows } = await q.query<RunRecord>(
    `INSERT INTO eval_runs (run_id, idempotency_key, model_version_id, dataset_version_id, metric_suite_version_id, mode, seed,
                            judge_fingerprint,
                            metric_impl_versions, lineage, platform_version, workflow_id, task_queue, progress_total, created_by,
                            retention_seconds)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
     ON CONFLICT (created_by, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING *`,
    [
      run.runId,
      run.idempotencyKey,
      run.modelVersionId,
      run.datasetVersionId,
      run.metricSuiteVersionId,
      run.mode,
      run.seed,
      run.judgeFingerprint,
      JSON.stringify(run.metricImplVersions),
      JSON.stringify(run.lineage),
      run.platformVersion,
      run.workflowId,
      run.taskQueue,
      run.progressTotal,
      run.createdBy,
      run.retentionSeconds,
    ],
  );
  return rows[0];
}

// ---- what a shard needs of its run (context.ts caches it per process) ----

export async function findRunContextRow(q: Queryable, runId: string) {
  const { rows } = await q.query<Record<string, any>>(
    `SELECT r.run_id, r.mode, r.seed, r.retention_seconds, d.task_type, dv.dataset_version_id, dv.classification,
            mv.model_version_id, m.name AS model_name, mv.version AS model_version, mv.endpoint, mv.prompt_template, mv.params,
            mv.params_hash, mv.pricing,
            sv.metrics, sv.budget_max_cost_usd, sv.budget_max_calls
       FROM eval_runs r
       JOIN dataset_versions dv USING (dataset_version_id)
       JOIN datasets d ON d.dataset_id = dv.dataset_id
       JOIN model_versions mv ON mv.model_version_id = r.model_version_id
       JOIN models m ON m.model_id = mv.model_id
       JOIN metric_suite_versions sv ON sv.metric_suite_version_id = r.metric_suite_version_id
      WHERE r.run_id = $1`,
    [runId],
  );
  return rows[0];
}

export async function listDatasetShards(q: Queryable, datasetVersionId: string) {
  const { rows } = await q.query<{ shard_index: number; object_key: string; row_count: number }>(
    'SELECT shard_index, object_key, row_count FROM dataset_shards WHERE dataset_version_id = $1 ORDER BY shard_index',
    [datasetVersionId],
  );
  return rows;
}

// ---- the run lifecycle (activities/runs/lifecycle.ts, shard.ts) ----

/** A run's totals are the sums of its shards' progress rows, plus its drift canary's judge calls. */
const SHARD_TOTALS = `(SELECT COALESCE(SUM(rows_done), 0) AS rows, COALESCE(SUM(calls_model), 0) AS calls,
                              COALESCE(SUM(cache_hits), 0) AS hits,
         COALESCE(SUM(errors), 0) AS errors, COALESCE(SUM(cost_usd), 0) AS cost,
         COALESCE(SUM(calls_judge), 0) AS judge_calls, COALESCE(SUM(judge_cost_usd), 0) AS judge_cost FROM eval_run_shards
         WHERE run_id = $1) s,
       (SELECT COALESCE(SUM(calls), 0) AS calls, COALESCE(SUM(cost_usd), 0) AS cost FROM judge_canary_results WHERE run_id = $1) c`;
const TOTALS_SET = `progress_done = s.rows, calls_model = s.calls, cache_hits = s.hits, errors = s.errors, cost_model_usd = s.cost,
                    calls_judge = s.judge_calls + c.calls, cost_judge_usd = s.judge_cost + c.cost`;

/** Marks the run running (the first attempt only sets started_at and queue_ms). */
export async function markRunRunning(q: Queryable, runId: string, totalRows: number): Promise<void> {
  await q.query(
    `UPDATE eval_runs SET status = 'running', progress_total = $2, started_at = COALESCE(started_at, now()),
            queue_ms = COALESCE(queue_ms, (extract(epoch FROM now() - created_at) * 1000)::bigint)
      WHERE run_id = $1 AND status IN ('queued', 'running')`,
    [runId, totalRows],
  );
}

/** Marks a queued or running run succeeded with its totals. */
/** Marks a run succeeded with its totals and how long its metrics took to compute (ms). */
export async function markRunSucceeded(q: Queryable, runId: string, metricsMs: number): Promise<void> {
  await q.query(
    `UPDATE eval_runs r SET status = 'succeeded', finished_at = now(), metrics_ms = $2,
            run_ms = (extract(epoch FROM now() - r.started_at) * 1000)::bigint,
            ${TOTALS_SET} FROM ${SHARD_TOTALS}
      WHERE r.run_id = $1 AND r.status IN ('queued', 'running')`,
    [runId, Math.round(metricsMs)],
  );
}

/** Ends a queued or running run with its totals; false when it had already ended. */
export async function markRunEnded(
  q: Queryable,
  runId: string,
  status: string,
  errorClass: string | null,
  errorMessage: string | null,
): Promise<boolean> {
  const { rowCount } = await q.query(
    `UPDATE eval_runs r SET status = $2, error_class = $3, error_message = $4, finished_at = now(),
            run_ms = (extract(epoch FROM now() - COALESCE(r.started_at, r.created_at)) * 1000)::bigint,
            ${TOTALS_SET} FROM ${SHARD_TOTALS}
      WHERE r.run_id = $1 AND r.status IN ('queued', 'running')`,
    [runId, status, errorClass, errorMessage],
  );
  return Boolean(rowCount);
}

export async function countDoneShards(q: Queryable, runId: string): Promise<number> {
  const { rows } = await q.query<{ done: number }>(
    `SELECT count(*)::int AS done FROM eval_run_shards WHERE run_id = $1 AND status = 'done'`,
    [runId],
  );
  return rows[0].done;
}

/** Shards that wrote a metric state: finished, or stopped cleanly by the budget. */
export async function listStateShardIndexes(q: Queryable, runId: string): Promise<number[]> {
  const { rows } = await q.query<{ shard_index: number }>(
    `SELECT shard_index FROM eval_run_shards WHERE run_id = $1 AND status IN ('done', 'partial') ORDER BY shard_index`,
    [runId],
  );
  return rows.map((r) => r.shard_index);
}

export interface NewMetricResult {
  name: string;
  metric: string;
  implVersion: string;
  value: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  n: number;
  reason?: string;
  slices?: Record<string, unknown>;
}

/** One result row per metric, in order; idempotent on run + metric + implementation version. */
export async function insertMetricResults(
  q: Queryable,
  runId: string,
  results: NewMetricResult[],
  partial: boolean,
): Promise<void> {
  for (const r of results) {
    await q.query(
      `INSERT INTO metric_results (run_id, metric_name, metric_id, impl_version, value, ci_low, ci_high, n, reason, slices, partial)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (run_id, metric_name, impl_version) DO NOTHING`,
      [
        runId,
        r.name,
        r.metric,
        r.implVersion,
        r.value,
        r.ciLow,
        r.ciHigh,
        r.n,
        r.reason ?? null,
        JSON.stringify(r.slices ?? {}),
        partial,
      ],
    );
  }
}

/** A shard's progress counters as its checkpoint records them. */
export interface ShardProgress {
  rows: number;
  modelCalls: number;
  cacheHits: number;
  errors: number;
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
  judgeCalls: number;
  judged: number;
  judgeErrors: number;
  judgeCacheHits: number;
  judgeCostUsd: number;
  judgeInputTokens: number;
  judgeOutputTokens: number;
  judgeStats: unknown;
}

export async function upsertShardProgress(
  q: Queryable,
  runId: string,
  shardIndex: number,
  rowCount: number,
  s: ShardProgress,
  status: 'running' | 'done' | 'partial',
): Promise<void> {
  await q.query(
    `INSERT INTO eval_run_shards (run_id, shard_index, status, rows_done, row_count, calls_model, cache_hits, errors, cost_usd,
                                  input_tokens, output_tokens,
                                  calls_judge, judged, judge_errors, judge_cache_hits, judge_cost_usd,
                                  judge_input_tokens, judge_output_tokens,
                                  judge_stats, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, now())
     ON CONFLICT (run_id, shard_index) DO UPDATE SET status = EXCLUDED.status, rows_done = EXCLUDED.rows_done,
       calls_model = EXCLUDED.calls_model, cache_hits = EXCLUDED.cache_hits, errors = EXCLUDED.errors, cost_usd = EXCLUDED.cost_usd,
       input_tokens = EXCLUDED.input_tokens, output_tokens = EXCLUDED.output_tokens, calls_judge = EXCLUDED.calls_judge,
       judged = EXCLUDED.judged,
       judge_errors = EXCLUDED.judge_errors, judge_cache_hits = EXCLUDED.judge_cache_hits, judge_cost_usd = EXCLUDED.judge_cost_usd,
       judge_input_tokens = EXCLUDED.judge_input_tokens, judge_output_tokens = EXCLUDED.judge_output_tokens,
       judge_stats = EXCLUDED.judge_stats, updated_at = now()`,
    [
      runId,
      shardIndex,
      status,
      s.rows,
      rowCount,
      s.modelCalls,
      s.cacheHits,
      s.errors,
      s.costUsd,
      s.inputTokens,
      s.outputTokens,
      s.judgeCalls,
      s.judged,
      s.judgeErrors,
      s.judgeCacheHits,
      s.judgeCostUsd,
      s.judgeInputTokens,
      s.judgeOutputTokens,
      JSON.stringify(s.judgeStats),
    ],
  );
}

/** A run as lists show it: with what it evaluated, by name and version, and what access to it depends on. */
export interface RunListRow extends RunRecord {
  dataset_id: string;
  dataset_version: number;
  visibility: DatasetVersionRecord['visibility'];
  allowed_teams: string[];
  dataset_owner_team: string;
  model_id: string;
  model_name: string;
  model_version: string;
  metric_suite_id: string;
  metric_suite_version: number;
}

export interface RunListFilter {
  modelId?: string;
  modelVersion?: { model: string; version: string };
  datasetId?: string;
  metricSuiteId?: string;
  status?: string;
  mode?: string;
}

/** Runs newest first, filtered; keyset-paginated before the run whose id is the cursor. */
export async function listRuns(q: Queryable, filter: RunListFilter, beforeRunId: string | null, limit: number) {
  const { rows } = await q.query<RunListRow>(
    `SELECT r.*, dv.dataset_id, dv.version AS dataset_version, dv.visibility, dv.allowed_teams,
            d.owner_team AS dataset_owner_team, mv.model_id, m.name AS model_name, mv.version AS model_version,
            sv.metric_suite_id, sv.version AS metric_suite_version
       FROM eval_runs r
       JOIN dataset_versions dv ON dv.dataset_version_id = r.dataset_version_id
       JOIN datasets d ON d.dataset_id = dv.dataset_id
       JOIN model_versions mv ON mv.model_version_id = r.model_version_id
       JOIN models m ON m.model_id = mv.model_id
       JOIN metric_suite_versions sv ON sv.metric_suite_version_id = r.metric_suite_version_id
      WHERE ($1::uuid IS NULL OR mv.model_id = $1)
        AND ($2::text IS NULL OR (m.name = $2 AND mv.version = $3))
        AND ($4::uuid IS NULL OR dv.dataset_id = $4)
        AND ($5::uuid IS NULL OR sv.metric_suite_id = $5)
        AND ($6::text IS NULL OR r.status = $6)
        AND ($7::text IS NULL OR r.mode = $7)
        AND ($8::uuid IS NULL OR (r.created_at, r.run_id) < (SELECT created_at, run_id FROM eval_runs WHERE run_id = $8))
      ORDER BY r.created_at DESC, r.run_id DESC
      LIMIT $9`,
    [
      filter.modelId ?? null,
      filter.modelVersion?.model ?? null,
      filter.modelVersion?.version ?? null,
      filter.datasetId ?? null,
      filter.metricSuiteId ?? null,
      filter.status ?? null,
      filter.mode ?? null,
      beforeRunId,
      limit,
    ],
  );
  return rows;
}
