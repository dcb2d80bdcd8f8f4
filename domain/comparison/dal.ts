/**
 * Data access of run comparison: a run with everything that decides whether it compares
 * with another (comparability.ts), its current results, and its dataset version's shards.
 */
import type { Queryable } from '../../common/db';

/** The run joined with its model, dataset and suite versions; undefined when it does not exist. */
export async function findComparableRunRow(q: Queryable, runId: string) {
  const { rows } = await q.query<Record<string, any>>(
    `SELECT r.run_id, r.status, r.mode, r.invalid_reason, r.error_class, r.judge_fingerprint, r.judge_flags, r.platform_version,
            r.finished_at,
            m.model_id, m.name AS model_name, m.owner_team AS model_owner_team, mv.model_version_id, mv.version AS model_version,
            mv.prompt_template_hash, mv.params_hash,
            d.dataset_id, d.name AS dataset_name, d.owner_team AS dataset_owner_team, d.task_type, dv.dataset_version_id,
            dv.version AS dataset_version,
            dv.status AS dataset_status, dv.visibility, dv.allowed_teams, dv.content_hash AS dataset_content_hash,
            s.metric_suite_id, s.name AS suite_name, s.purpose, sv.metric_suite_version_id, sv.version AS suite_version, sv.metrics,
            sv.content_hash AS suite_content_hash
       FROM eval_runs r
       JOIN model_versions mv ON mv.model_version_id = r.model_version_id JOIN models m ON m.model_id = mv.model_id
       JOIN dataset_versions dv ON dv.dataset_version_id = r.dataset_version_id JOIN datasets d ON d.dataset_id = dv.dataset_id
       JOIN metric_suite_versions sv ON sv.metric_suite_version_id = r.metric_suite_version_id
       JOIN metric_suites s ON s.metric_suite_id = sv.metric_suite_id
      WHERE r.run_id = $1`,
    [runId],
  );
  return rows[0];
}

/** The run's current (not superseded) results, by metric name. */
export async function listComparableResults(q: Queryable, runId: string) {
  const { rows } = await q.query<Record<string, any>>(
    `SELECT result_id::text, metric_name, metric_id, impl_version, value, ci_low, ci_high, n, slices, COALESCE(partial, false) AS partial
       FROM metric_results WHERE run_id = $1 AND superseded_at IS NULL ORDER BY metric_name`,
    [runId],
  );
  return rows;
}

export async function datasetShardIndexes(q: Queryable, datasetVersionId: string): Promise<number[]> {
  const { rows } = await q.query<{ shard_index: number }>(
    'SELECT shard_index FROM dataset_shards WHERE dataset_version_id = $1 ORDER BY shard_index',
    [datasetVersionId],
  );
  return rows.map((r) => r.shard_index);
}
