import type { Queryable } from '../../../common/db';

export interface RunRecord {
  run_id: string; idempotency_key: string | null; model_version_id: string; dataset_version_id: string; metric_suite_version_id: string;
  mode: 'exploratory' | 'release'; status: string; error_class: string | null; error_message: string | null; invalid_reason: string | null;
  progress_done: string; progress_total: string; seed: string; judge_fingerprint: string | null; metric_impl_versions: Record<string, string>;
  lineage: Record<string, unknown>; platform_version: string; workflow_id: string; task_queue: string;
  cost_model_usd: string; cost_judge_usd: string; calls_model: string; calls_judge: string; cache_hits: string; errors: string;
  queue_ms: string | null; run_ms: string | null; judge_flags: Record<string, unknown>;
  created_by: string; created_at: Date; started_at: Date | null; finished_at: Date | null;
}

export interface ResultRecord {
  result_id: string; metric_name: string; metric_id: string; impl_version: string; value: number | null; ci_low: number | null;
  ci_high: number | null; n: string; reason: string | null; slices: Record<string, unknown>;
}

export async function insertRun(q: Queryable, r: {
  runId: string; idempotencyKey: string | null; modelVersionId: string; datasetVersionId: string; suiteVersionId: string; mode: string;
  seed: string; judgeFingerprint: string | null; implVersions: Record<string, string>; lineage: unknown; platformVersion: string;
  workflowId: string; taskQueue: string; progressTotal: number; createdBy: string;
}): Promise<RunRecord | undefined> {
  const { rows } = await q.query<RunRecord>(
    `INSERT INTO eval_runs (run_id, idempotency_key, model_version_id, dataset_version_id, metric_suite_version_id, mode, seed, judge_fingerprint,
                            metric_impl_versions, lineage, platform_version, workflow_id, task_queue, progress_total, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
     ON CONFLICT (created_by, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING *`,
    [r.runId, r.idempotencyKey, r.modelVersionId, r.datasetVersionId, r.suiteVersionId, r.mode, r.seed, r.judgeFingerprint,
      JSON.stringify(r.implVersions), JSON.stringify(r.lineage), r.platformVersion, r.workflowId, r.taskQueue, r.progressTotal, r.createdBy]);
  return rows[0];
}

export async function findRunByIdempotencyKey(q: Queryable, createdBy: string, key: string) {
  const { rows } = await q.query<RunRecord>('SELECT * FROM eval_runs WHERE created_by = $1 AND idempotency_key = $2', [createdBy, key]);
  return rows[0];
}

export async function findRun(q: Queryable, runId: string) {
  const { rows } = await q.query<RunRecord>('SELECT * FROM eval_runs WHERE run_id = $1', [runId]);
  return rows[0];
}

export async function currentResults(q: Queryable, runId: string) {
  const { rows } = await q.query<ResultRecord>(
    'SELECT * FROM metric_results WHERE run_id = $1 AND superseded_at IS NULL ORDER BY metric_name', [runId]);
  return rows;
}

/** Live progress from the shards' checkpoints while the run is going. */
export async function shardProgress(q: Queryable, runId: string) {
  const { rows } = await q.query<{ done: string; calls: string; hits: string; errors: string; cost: number }>(
    `SELECT COALESCE(SUM(rows_done), 0) AS done, COALESCE(SUM(calls_model), 0) AS calls, COALESCE(SUM(cache_hits), 0) AS hits,
            COALESCE(SUM(errors), 0) AS errors, COALESCE(SUM(cost_usd), 0) AS cost FROM eval_run_shards WHERE run_id = $1`, [runId]);
  return rows[0];
}
